"""Datasets: samples in rows, ``X`` of shape ``(n_samples, n_features)``, ``y`` of ``(n_samples,)``.

Labels are integers ``0..k−1`` (``int64``) for a task of ``k`` classes; binary tasks use 0/1.
:attr:`Dataset.n_classes` is ``k`` and :attr:`Dataset.label_names` names each label: ``"0"``,
``"1"``, … for the built-in generators, the file's own values for :func:`from_csv` and
:func:`from_npz`.

Built-in generators share one signature::

    name(n_train=..., n_test=..., noise=..., <shape arguments>, seed=...)

and are registered in :data:`DATASETS` (``load(name, **kwargs)`` builds one by name):

========  ==================================================================  =============
name      recipe                                                              default seed
========  ==================================================================  =============
circles   as scikit-learn's ``make_circles`` (same bytes): outer 0, inner 1   ``"notebook"``
flower    the course's planar data set (``load_planar_dataset``), 2 classes   ``"notebook"``
moons     scikit-learn ``make_moons``, 2 classes                              0
blobs     scikit-learn ``make_blobs``, ``centers`` classes                    0
gauss     TensorFlow Playground's "Gaussian": clusters at (−2,−2) and (2,2)   0
xor       TensorFlow Playground's "Exclusive or", scaled to [−1, 1]²          0
spiral    CS231n's spiral, ``arms`` classes                                   0
========  ==================================================================  =============

Randomness. Generators draw from private generators only and never touch NumPy's global state.
An integer ``seed`` becomes a :class:`numpy.random.SeedSequence` spawned into independent train
and test streams (``blobs`` spawns a third, for its centres, so train and test share them):
test points are independent of training points, and changing ``n_test`` never changes the
training set. NumPy recipes draw from a :class:`numpy.random.Generator` on their stream;
scikit-learn's generators get a private ``RandomState(MT19937(stream))``. Each set is shuffled
by its own stream (scikit-learn's ``shuffle=True``, or a permutation), so classes are
interleaved.

``seed="notebook"`` exists for the course's two data sets, and is their default:

* ``circles()`` is the course notebook's data, point for point: 300 training points from
  ``make_circles(noise=.05)`` after ``np.random.seed(1)`` and 100 test points after
  ``np.random.seed(2)``. It passes a private ``RandomState`` to scikit-learn instead of
  seeding NumPy's global state; the draws are the same.
* ``flower()``'s training set is ``load_planar_dataset()``'s 400 points (transposed to rows),
  drawn from a private ``RandomState(1)`` in the original order: class 0 then class 1,
  unshuffled. The original has no test set; in notebook mode the test set is the same recipe
  drawn from a private ``RandomState(2)``, as the circles notebook seeds its test set.

The package's modules: :mod:`~initlab.datasets.base` (the :class:`Dataset` record),
:mod:`~initlab.datasets.generators` (the built-in generators), :mod:`~initlab.datasets.files`
(:func:`from_csv`, :func:`from_npz`) and :mod:`~initlab.datasets.registry` (:data:`DATASETS`,
:func:`load`) and :mod:`~initlab.datasets.features` (:func:`expand`, :func:`with_features`:
input features such as x₁² or sin x₁). :func:`check_xy` is :func:`initlab._validate.check_xy`,
re-exported here.
"""

from initlab._validate import check_xy

from .base import Dataset
from .features import PLAYGROUND_FEATURES, expand, with_features
from .files import from_csv, from_npz
from .generators import (
    BLOB_BOX,
    FLOWER_RAY,
    GAUSS_CENTRES,
    blobs,
    circles,
    flower,
    gauss,
    gaussians,
    moons,
    plane,
    spiral,
    xor,
)
from .registry import DATASETS, load

__all__ = [
    "BLOB_BOX",
    "DATASETS",
    "FLOWER_RAY",
    "GAUSS_CENTRES",
    "PLAYGROUND_FEATURES",
    "Dataset",
    "blobs",
    "check_xy",
    "circles",
    "expand",
    "flower",
    "from_csv",
    "from_npz",
    "gauss",
    "gaussians",
    "load",
    "moons",
    "plane",
    "spiral",
    "with_features",
    "xor",
]
