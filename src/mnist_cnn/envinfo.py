"""Facts about this machine and software, for run metadata and bug reports."""

from __future__ import annotations

import os
import platform
import sys
from functools import lru_cache
from importlib import metadata


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def backend_name() -> str:
    """The Keras backend that ``import keras`` will use (without importing it)."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def package_versions() -> dict[str, str | None]:
    """Versions of Python and of the packages a result depends on."""
    backend = backend_name()
    backend_dist = {
        "tensorflow": _version("tensorflow-cpu") or _version("tensorflow"),
        "torch": _version("torch"),
        "jax": _version("jax"),
    }.get(backend)
    return {
        "python": platform.python_version(),
        "mnist-cnn": _version("mnist-cnn"),
        "keras": _version("keras"),
        "backend": backend,
        backend: backend_dist,
        "numpy": _version("numpy"),
    }


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags from ``/proc/cpuinfo`` (empty where unavailable)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_supports_bf16() -> bool:
    """True when the CPU has native bfloat16 dot products (AVX512-BF16 or AMX)."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def cpu_info() -> dict[str, object]:
    """CPU model, core count and the vector extensions that matter for speed."""
    interesting = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")
    return {
        "model": cpu_model(),
        "machine": platform.machine(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "features": [flag for flag in interesting if flag in cpu_flags()],
    }


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far, in MiB (None if unknown)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def report() -> dict[str, object]:
    """Everything ``mnist-cnn env`` prints."""
    return {
        "platform": platform.platform(),
        "versions": package_versions(),
        "cpu": cpu_info(),
        "memory_gib": _memory_gib(),
    }


def _memory_gib() -> float | None:
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * size / 2**30, 1)
