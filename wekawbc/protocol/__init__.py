"""The evaluation protocol's pieces that every classifier shares (Weka's folds, class weights).

Pure numpy: no JVM and no torch, so Weka's classifiers, the scikit-learn estimator and the CNN all
build on the same code.
"""
