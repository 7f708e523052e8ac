"""The evaluation protocol's pieces that every classifier shares: Weka's folds (``folds``), class-mix
subsampling (``subsample``) and class weights (``weights``).

Pure numpy: no JVM and no torch, so Weka's classifiers, the scikit-learn estimator, the CNN and the
experiment grid all build on the same code.
"""
