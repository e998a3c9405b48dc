"""initlab: a laboratory for neural-network weight initialization."""

from initlab.compare import Comparison, Run, compare
from initlab.datasets import Dataset, circles
from initlab.estimator import MLPClassifier
from initlab.initializers import init_params
from initlab.network import MLP, Layer
from initlab.train import History, TrainResult, train

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "Comparison",
    "Dataset",
    "History",
    "Layer",
    "MLPClassifier",
    "Run",
    "TrainResult",
    "__version__",
    "circles",
    "compare",
    "init_params",
    "train",
]
