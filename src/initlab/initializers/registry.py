"""The initializer registry: names and configs to initializers, custom schemes and plugins.

:data:`INITIALIZERS` maps every built-in name (and alias) to its factory; :func:`get` turns a
name, a config ``{"name": ..., **args}`` or an initializer object into an initializer, and
:func:`get_config` writes one back as a config. :func:`register_initializer` and the
entry-point group ``initlab.initializers`` add custom schemes, wrapped so that they serialise
under their registered name. The catalogue itself lives in :mod:`~initlab.initializers.schemes`
and its siblings; LSUV, which resolves its base initializer here, registers itself from
:mod:`initlab.initializers.lsuv`.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import inspect
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from initlab._registry import Entry, Registry
from initlab.initializers.distributions import (
    Constant,
    TruncatedNormal,
    TruncNormal,
    Uniform,
    normal,
    ones,
    random,
    random_normal,
    random_uniform,
    zeros,
)
from initlab.initializers.schemes import (
    DataDependentInitializer,
    HasMoments,
    Initializer,
    KaimingNormal,
    KaimingUniform,
    VarianceScaling,
    glorot_normal,
    glorot_uniform,
    he,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
    xavier_normal,
    xavier_uniform,
)
from initlab.initializers.structured import Dirac, Identity, Orthogonal, Sparse, ZerO
from initlab.rng import RandomSource

if TYPE_CHECKING:
    from initlab.network import MLP, Params

__all__ = [
    "ENTRY_POINT_GROUP",
    "INITIALIZERS",
    "CustomDataDependentInitializer",
    "CustomFactory",
    "CustomInitializer",
    "CustomInitializerWithMoments",
    "Factory",
    "Identifier",
    "InitializerPluginError",
    "InitializerPluginWarning",
    "InitializerRegistry",
    "get",
    "get_config",
    "register_initializer",
]

ENTRY_POINT_GROUP = "initlab.initializers"
"""Entry-point group in which installed packages declare initializers."""

# --- custom initializers and plugins ---------------------------------------------------


@dataclass(frozen=True)
class CustomInitializer:
    """An initializer registered by :func:`register_initializer` or a plugin.

    Serialises as ``{"name": name, **args}``; two are equal when built from the same
    registered callable with the same arguments.
    """

    name: str
    source: Callable[..., Any] = field(repr=False)
    init: Any = field(compare=False, repr=False)
    args: dict[str, Any] = field(default_factory=dict, hash=False)

    def __call__(
        self, rng: RandomSource, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> NDArray[Any]:
        w: NDArray[Any] = self.init(rng, shape, dtype)
        return w

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, **self.args}


@dataclass(frozen=True)
class CustomDataDependentInitializer(CustomInitializer):
    """A registered data-dependent initializer: forwards ``init_network``."""

    def init_network(self, mlp: MLP, rng: RandomSource, X: NDArray[np.float64]) -> Params:
        params: Params = self.init.init_network(mlp, rng, X)
        return params


@dataclass(frozen=True)
class CustomInitializerWithMoments(CustomInitializer):
    """A registered initializer that declares its moments (:class:`HasMoments`): forwards
    ``moments``, so the theory stays exact for it."""

    def moments(self, shape: tuple[int, ...]) -> tuple[float, float]:
        moments: tuple[float, float] = self.init.moments(shape)
        return moments


class CustomFactory:
    """What :func:`register_initializer` stores in the registry.

    Called with the config's arguments, it returns a :class:`CustomInitializer`: ``fn``
    itself (``factory=False``, no arguments) or ``fn(**args)`` (``factory=True``).
    """

    def __init__(self, name: str, fn: Callable[..., Any], factory: bool) -> None:
        self.name, self.fn, self.factory = name, fn, factory

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self.fn) if self.factory else inspect.Signature()

    def __call__(self, **args: Any) -> CustomInitializer:
        init = self.fn(**args) if self.factory else self.fn
        if isinstance(init, DataDependentInitializer):
            return CustomDataDependentInitializer(self.name, self.fn, init, dict(args))
        if callable(init) and isinstance(init, HasMoments):
            return CustomInitializerWithMoments(self.name, self.fn, init, dict(args))
        if not callable(init):
            raise TypeError(
                f"Initializer factory {self.name!r} returned {init!r}, which is not an "
                "initializer: expected a callable fn(rng, shape, dtype) or an object with "
                "init_network(mlp, rng, X)"
            )
        return CustomInitializer(self.name, self.fn, init, dict(args))

    def __repr__(self) -> str:
        return f"CustomFactory({self.name!r}, {self.fn!r}, factory={self.factory})"


def _takes_rng_and_shape(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is called as ``fn(rng, shape[, dtype])``: exactly two required
    positional parameters (classes and keyword-argument factories are not)."""
    if isinstance(fn, type):
        return False
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [p for p in params if p.kind in positional and p.default is p.empty]
    return len(required) == 2


class InitializerPluginError(ValueError):
    """An entry point in ``initlab.initializers`` failed to load; the message names it."""


class InitializerPluginWarning(UserWarning):
    """A plugin was skipped: it failed to load, or its name is already taken."""


Factory = Callable[..., Initializer | DataDependentInitializer]


class InitializerRegistry(Registry[Factory]):
    """The initializer registry, plus plugins from the entry-point group ``group``.

    Plugins are loaded once, lazily: on the first lookup of a name not yet registered, or
    when the names are listed. A plugin that fails to load is skipped with an
    :class:`InitializerPluginWarning`; looking its name up raises
    :class:`InitializerPluginError`, naming the entry point and the cause.
    """

    def __init__(self, kind: str, group: str = ENTRY_POINT_GROUP) -> None:
        super().__init__(kind)
        self.group = group
        self._plugins_loaded = False
        self._broken: dict[str, str] = {}

    def load_plugins(self, *, reload: bool = False) -> None:
        """Register every entry point of ``group`` not registered yet (once, unless ``reload``)."""
        if self._plugins_loaded and not reload:
            return
        self._plugins_loaded = True
        problems = []
        for ep in importlib.metadata.entry_points(group=self.group):
            key = ep.name.lower()
            where = f"entry point '{ep.name} = {ep.value}' in group {self.group!r}"
            if ep.dist is not None:
                where += f" (distribution {ep.dist.name} {ep.dist.version})"
            if super().__contains__(key):
                if not isinstance(self.entry(key).value, CustomFactory):
                    problems.append(f"Skipped initializer plugin {where}: {key!r} is built in")
                continue
            try:
                obj = ep.load()
                if not super().__contains__(key):  # it may register itself on import
                    factory = not _takes_rng_and_shape(obj)
                    doc = (inspect.getdoc(obj) or "").partition("\n")[0]
                    self.register(key, CustomFactory(key, obj, factory), f"plugin: {doc}")
            except Exception as exc:
                message = (
                    f"Initializer plugin {ep.name!r} failed to load from {where}: "
                    f"{type(exc).__name__}: {exc}"
                )
                self._broken[key] = message
                problems.append(message)
        for problem in problems:
            warnings.warn(problem, InitializerPluginWarning, stacklevel=3)

    def canonical(self, name: str) -> str:
        if isinstance(name, str) and not super().__contains__(name):
            self.load_plugins()
            if name.lower() in self._broken:
                raise InitializerPluginError(self._broken[name.lower()])
        return super().canonical(name)

    def names(self) -> list[str]:
        self.load_plugins()
        return super().names()

    def __iter__(self) -> Iterator[Entry[Factory]]:
        self.load_plugins()
        return super().__iter__()

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str) and not super().__contains__(name):
            self.load_plugins()
        return super().__contains__(name)


def _builtin_registry() -> InitializerRegistry:
    """A fresh registry holding initlab's own schemes (plugins load on first use)."""
    r = InitializerRegistry("initializer")
    # The course's three.
    r.register("zeros", zeros, "all weights 0 (fails to break symmetry)", aliases=("zero",))
    r.register("random", random, "N(0, scale²), scale=10: the course's large random init")
    r.register("he", he, "plain N(0, 2/fan_in): the course's He init")
    # The general form and its Keras specialisations (truncated normals, variance exact),
    # also under Keras 3's class names, with Keras 3's meaning.
    r.register(
        "variance_scaling",
        VarianceScaling,
        "Keras: var scale/n, n from mode; 'normal' is truncated",
        aliases=("VarianceScaling",),
    )
    r.register(
        "he_normal",
        he_normal,
        "Keras: truncated N, var 2/(fan·(1+slope²))",
        aliases=("HeNormal",),
    )
    r.register("he_uniform", he_uniform, "Keras: U(±√(6/(fan·(1+slope²))))", aliases=("HeUniform",))
    r.register(
        "glorot_normal",
        glorot_normal,
        "Keras: truncated N, var 2/(fan_in+fan_out)",
        aliases=("GlorotNormal",),
    )
    r.register(
        "glorot_uniform",
        glorot_uniform,
        "Keras: U(±√(6/(fan_in+fan_out)))",
        aliases=("GlorotUniform",),
    )
    r.register(
        "lecun_normal", lecun_normal, "Keras: truncated N, var 1/fan_in", aliases=("LecunNormal",)
    )
    r.register("lecun_uniform", lecun_uniform, "Keras: U(±√(3/fan_in))", aliases=("LecunUniform",))
    # PyTorch's (plain normals, gains).
    r.register("xavier_normal", xavier_normal, "torch: N(0, gain²·2/(fan_in+fan_out))")
    r.register("xavier_uniform", xavier_uniform, "torch: U(±gain·√(6/(fan_in+fan_out)))")
    r.register("kaiming_normal", KaimingNormal, "torch: N(0, gain²/fan)")
    r.register("kaiming_uniform", KaimingUniform, "torch: U(±gain·√(3/fan))")
    # Fan-independent distributions.
    r.register("constant", Constant, "every weight = value")
    r.register("ones", ones, "all weights 1", aliases=("one",))
    r.register("normal", normal, "N(mean, std²), torch defaults 0, 1")
    r.register(
        "random_normal",
        random_normal,
        "Keras: N(mean, stddev²), stddev=0.05",
        aliases=("RandomNormal",),
    )
    r.register("uniform", Uniform, "U(a, b), torch defaults 0, 1")
    r.register(
        "random_uniform",
        random_uniform,
        "Keras: U(minval, maxval), ±0.05",
        aliases=("RandomUniform",),
    )
    r.register("trunc_normal", TruncNormal, "torch: N(mean, std²) cut at absolute [a, b]")
    r.register(
        "truncated_normal",
        TruncatedNormal,
        "Keras: N(mean, stddev²) cut at ±2 stddev",
        aliases=("TruncatedNormal",),
    )
    # Structured.
    r.register("orthogonal", Orthogonal, "gain × (semi-)orthogonal (Saxe et al. 2014)")
    r.register("identity", Identity, "gain × I, 2-D", aliases=("eye",))
    r.register("dirac", Dirac, "conv identity (torch dirac_), 3-5-D")
    r.register("sparse", Sparse, "N(0, std²), ⌈sparsity·rows⌉ zeros per column (torch)")
    r.register("zero_init", ZerO, "ZerO: identity / Hadamard, deterministic (Zhao et al. 2022)")
    # Data-dependent: "lsuv" is added by initlab.initializers.lsuv, which resolves its base
    # initializer through this registry.
    return r


INITIALIZERS: InitializerRegistry = _builtin_registry()


def register_initializer(
    name: str,
    fn: Callable[..., Any] | None = None,
    *,
    description: str = "",
    aliases: tuple[str, ...] = (),
    factory: bool = False,
    overwrite: bool = False,
) -> Any:
    """Register a custom initializer under ``name``; usable as a function or a decorator.

    Without ``factory``, ``fn(rng, shape, dtype=np.float64)`` is the initializer itself
    (or an object with ``init_network(mlp, rng, X)``); ``get(name)`` returns it wrapped so that
    ``get_config`` gives ``{"name": name}``. With ``factory=True``, ``fn(**kwargs)`` returns an
    initializer and ``get({"name": name, **kwargs})`` builds one, serialising back to that
    config. Returns ``fn``.

    >>> @register_initializer("halves", description="every weight 0.5")
    ... def halves(rng, shape, dtype=np.float64):
    ...     return np.full(shape, 0.5, dtype)
    >>> get_config(get("halves"))
    {'name': 'halves'}
    >>> INITIALIZERS.unregister("halves")
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"Argument `name` must be a non-empty string. Received: name={name!r}")

    def add(f: Any) -> Any:
        if not callable(f) and not isinstance(f, DataDependentInitializer):
            raise TypeError(f"Argument `fn` must be callable. Received: fn={f!r}")
        doc = description or (inspect.getdoc(f) or "").partition("\n")[0]
        key = name.lower()
        INITIALIZERS.register(
            key, CustomFactory(key, f, factory), doc, aliases=aliases, overwrite=overwrite
        )
        return f

    return add if fn is None else add(fn)


# --- identifiers and configs -----------------------------------------------------------

Identifier = str | dict[str, Any] | Initializer | DataDependentInitializer


def _build(name: str, args: dict[str, Any]) -> Initializer | DataDependentInitializer:
    factory = INITIALIZERS.get(name)
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return factory(**args)
    try:
        signature.bind(**args)
    except TypeError as exc:
        takes = ", ".join(p.name for p in signature.parameters.values()) or "no arguments"
        raise ValueError(
            f"Bad arguments for initializer {name!r}: {exc}. It takes: {takes}"
        ) from None
    return factory(**args)


def get(identifier: Identifier) -> Initializer | DataDependentInitializer:
    """Resolve a name, a config ``{"name": ..., **args}`` or an initializer object.

    >>> get("he")
    VarianceScaling(scale=2.0, mode='fan_in', distribution='untruncated_normal')
    >>> get({"name": "random", "scale": 0.01})
    Normal(std=0.01, mean=0.0)
    >>> get({"name": "kaiming_uniform", "nonlinearity": "relu"})
    KaimingUniform(a=0.0, mode='fan_in', nonlinearity='relu')
    """
    if isinstance(identifier, str):
        return _build(identifier, {})
    if isinstance(identifier, dict):
        config = dict(identifier)
        name = config.pop("name", None)
        if not isinstance(name, str):
            raise ValueError(
                "An initializer config needs a 'name' key holding a string. "
                f"Received: {identifier!r}"
            )
        return _build(name, config)
    if callable(identifier) or isinstance(identifier, DataDependentInitializer):
        return identifier
    raise TypeError(
        f"An initializer must be a name, a config dict or a callable. Received: {identifier!r}"
    )


def get_config(init: Initializer | DataDependentInitializer) -> dict[str, Any]:
    """A small JSON-able config that :func:`get` turns back into an equal initializer.

    Specialisations serialise as their general form (``he_normal()`` as a
    ``variance_scaling`` config); an object with its own ``get_config()`` method uses it.

    >>> get(get_config(he())) == he()
    True
    >>> get_config(xavier_uniform(activation="relu"))
    {'name': 'xavier_uniform', 'gain': 1.4142135623730951}
    """
    method = getattr(init, "get_config", None)
    if callable(method) and not isinstance(init, type):
        config = method()
        if not isinstance(config, dict) or not isinstance(config.get("name"), str):
            raise TypeError(f"{init!r}.get_config() must return a dict with a 'name' string")
        return dict(config)
    name = getattr(init, "name", None)
    try:
        fields = dataclasses.fields(init)  # type: ignore[arg-type]
    except TypeError:
        fields = None
    if not isinstance(name, str) or fields is None or isinstance(init, type):
        raise TypeError(f"Cannot serialise initializer {init!r}: it is not a registered scheme")
    return {"name": name, **{f.name: getattr(init, f.name) for f in fields}}
