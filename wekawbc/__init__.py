"""wekawbc: white-blood-cell classification on imbalanced data, evaluated exactly as Weka does.

Data flows one way through the sub-packages::

    cells -> features -> arff -> weka / cnn -> evaluation -> report
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
