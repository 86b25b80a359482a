"""The layering rule, checked over every module of the package (found with pkgutil, not listed by hand).

core/ and scan/ are pure: no outside library but TOML/zstd codecs and signature checks.
ops/ builds on core/ and scan/ and never imports an adapter (cli/factory.py builds
them). Each adapter loads only its own library: the standard library's
http.client for the registry adapters (``transport``; requests and urllib3
never, they cost 75 ms to import and 1 ms of CPU per request), dulwich for
git, the docker SDK (on requests) for the engine alone. cli/ may use
anything, but ``lock`` must not load the docker SDK (checked by running it).

Imports are read from the source (every ``import``, also those inside functions,
except under ``if TYPE_CHECKING:``) and followed through the package, so a lazy
import counts where it is written.
"""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
import subprocess
import sys

import docker_kolla

# Computation over bytes already in memory, no I/O of their own: TOML and zstd codecs,
# signature checks (core/trust.py).
PURE = {"tomli", "tomli_w", "zstandard", "cryptography"}
LAYER_LIBS = {
    "docker_kolla.core": {"tomli", "tomli_w", "cryptography"},
    "docker_kolla.scan": {"zstandard"},
    "docker_kolla.ops": PURE,
}
REQUESTS = {"requests", "urllib3"}
HTTP = {"certifi"}  # transport: http.client and ssl, with certifi's CA bundle (adapters.tls)
ADAPTER_LIBS = {  # each adapter: its own library (plus the pure codecs core/scan use)
    "auth": HTTP,
    "cache": set(),
    "challenges": set(),
    "copier": HTTP,
    "credentials": set(),
    "deadline": set(),
    "downloads": HTTP,
    "endpoint": set(),
    "engine": {"docker", *REQUESTS},  # the docker SDK, built on requests
    "fsio": set(),
    "gitatomic": {"dulwich"},
    "gitcommit": {"dulwich"},
    "giterrors": {"dulwich"},
    "gitident": {"dulwich"},
    "gitpush": {"dulwich"},
    "gitrev": {"dulwich"},
    "gitstore": {"dulwich"},
    "gitwrite": {"dulwich"},
    "tls": {"certifi"},  # ssl, and certifi's CA bundle
    "transport": set(),
    "http": HTTP,
    "httphead": set(),  # the standard library's http.client
    "httpsend": set(),  # the standard library's http.client
    "keyless": {"sigstore", "sigstore_models", "pydantic", *REQUESTS},  # the optional extra, imported lazily
    "registry": HTTP,
    "responses": HTTP,
    "revcache": set(),
    "uploads": HTTP,
}
# releases: the shipped preset/kolla-ansible data files (importlib.resources) parsed by core.
TOP_LEVEL = {
    "docker_kolla": set(),
    "docker_kolla.errors": set(),
    "docker_kolla.releases": {"tomli", "tomli_w", "cryptography"},
}
# Standard-library modules for I/O or threads: never in the pure layers.
IO_STDLIB = {"os", "subprocess", "socket", "shutil", "tempfile", "threading", "urllib", "http", "ssl"}
# Which library may be imported directly from where (whatever the closure says).
DIRECT = {
    "docker": ("docker_kolla.adapters.engine",),
    "requests": ("docker_kolla.adapters.engine",),
    "urllib3": ("docker_kolla.adapters.engine",),
    "dulwich": ("docker_kolla.adapters.git",),
    "typer": ("docker_kolla.cli.",),
    "rich": ("docker_kolla.cli.",),
    "click": ("docker_kolla.cli.",),
}


def modules() -> list[str]:
    names = ["docker_kolla"]
    names += [m.name for m in pkgutil.walk_packages(docker_kolla.__path__, "docker_kolla.")]
    return sorted(names)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def direct_imports(name: str, known: set[str]) -> set[str]:
    """Every module ``name`` imports at run time: dotted internal names, top-level outside names."""
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin, name
    tree = ast.parse(open(spec.origin, encoding="utf-8").read(), spec.origin)
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            for alias in node.names:
                if f"{node.module}.{alias.name}" in known:
                    found.add(f"{node.module}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    out = set()
    for imported in found - {"__future__"}:
        if imported.split(".")[0] == "docker_kolla":
            out.add(imported if imported in known else imported.rsplit(".", 1)[0])
        else:
            out.add(imported.split(".")[0] if imported.split(".")[0] != "urllib" else imported)
    return out


def closure() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(module -> direct imports, module -> every module reachable from it)."""
    known = set(modules())
    direct = {name: direct_imports(name, known) for name in known}
    reach: dict[str, set[str]] = {}
    for name in known:
        seen, todo = set(), [name]
        while todo:
            for dep in direct[todo.pop()]:
                if dep not in seen:
                    seen.add(dep)
                    if dep in direct:
                        todo.append(dep)
        reach[name] = seen
    return direct, reach


def outside(names: set[str]) -> set[str]:
    return {n for n in names if not n.startswith("docker_kolla") and n.split(".")[0] not in sys.stdlib_module_names}


def allowed(name: str) -> set[str] | None:
    """The outside libraries ``name`` may load; None for cli/ (anything)."""
    if name in TOP_LEVEL:
        return TOP_LEVEL[name]
    layer = ".".join(name.split(".")[:2])
    if layer in LAYER_LIBS:
        return LAYER_LIBS[layer]
    if layer == "docker_kolla.adapters":
        short = name.rsplit(".", 1)[-1]
        assert short in ADAPTER_LIBS or name == layer, (
            f"{name} is a new adapter: say in ADAPTER_LIBS which library it wraps"
        )
        return ADAPTER_LIBS.get(short, set()) | PURE
    if layer in ("docker_kolla.cli", "docker_kolla.__main__"):
        return None
    raise AssertionError(f"{name} is in no known layer: add its rule to this test")


def test_discovery_finds_every_layer():
    names = modules()
    assert len(names) > 60
    for layer in ("core", "scan", "ops", "adapters", "cli"):
        assert any(n.startswith(f"docker_kolla.{layer}.") for n in names), layer
    assert "docker_kolla.adapters.engine" in names and "docker_kolla.core.lockfile" in names


def test_each_module_loads_only_the_libraries_of_its_layer():
    _, reach = closure()
    problems = []
    for name in sorted(reach):
        libs = allowed(name)
        if libs is None:
            continue
        extra = outside(reach[name]) - libs
        if extra:
            problems.append(f"{name} loads {sorted(extra)}")
        layer = ".".join(name.split(".")[:2])
        if layer in ("docker_kolla.core", "docker_kolla.scan"):
            io = {m for m in reach[name] if m.split(".")[0] in IO_STDLIB}
            if io:
                problems.append(f"{name} (pure) loads {sorted(io)}")
        if layer in ("docker_kolla.core", "docker_kolla.scan", "docker_kolla.ops"):
            up = sorted(
                m for m in reach[name] if m.startswith(("docker_kolla.adapters", "docker_kolla.cli")) and m != name
            )
            if up:
                problems.append(f"{name} imports {up}")
    assert problems == []


def test_libraries_are_imported_directly_only_where_they_belong():
    direct, _ = closure()
    problems = [
        f"{name} imports {lib}"
        for name, deps in sorted(direct.items())
        for lib, homes in DIRECT.items()
        if lib in deps and not name.startswith(homes)
    ]
    assert problems == []


def test_the_rule_catches_a_violation():
    """A module that reaches the docker SDK through a lazy import breaks the rule."""
    direct, reach = closure()
    assert "docker" in outside(reach["docker_kolla.adapters.engine"])
    assert "docker" not in outside(reach["docker_kolla.adapters.credentials"])
    assert "dulwich" in outside(reach["docker_kolla.adapters.gitstore"])
    assert "docker" in outside(reach["docker_kolla.cli.factory"])  # engine_for imports engine lazily
    assert "docker" not in (allowed("docker_kolla.ops.lock") or {"docker"})


def test_core_and_scan_load_no_io_library_at_run_time():
    names = [n for n in modules() if n.startswith(("docker_kolla.core.", "docker_kolla.scan."))]
    code = (
        f"import importlib, sys\nbefore = set(sys.modules)\nfor n in {names!r}: importlib.import_module(n)\n"
        "print(' '.join(sorted({m.split('.')[0] for m in set(sys.modules) - before})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # private top-level names (_cffi_backend, _openssl, *__mypyc) are the compiled parts of the libraries above
    assert {m for m in outside(set(out)) if not m.startswith("_") and not m.endswith("__mypyc")} <= PURE


def _loaded_after(imports: str, names: set) -> str:
    """Which of ``names`` (modules, or the top-level packages of modules) a fresh interpreter
    holds after running ``imports``, printed as a sorted list."""
    code = (
        f"import sys\n{imports}"
        "loaded = set(sys.modules) | {m.split('.')[0] for m in sys.modules}\n"
        f"print(sorted(loaded & set({sorted(names)!r})))"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_lock_does_not_load_the_docker_sdk_requests_or_a_crypto_library():
    """What ``docker kolla lock`` imports: every command module, the lock verb and its adapters."""
    out = _loaded_after(
        "from docker_kolla.cli import app\napp._load_commands()\n"
        "import docker_kolla.ops.lock, docker_kolla.cli.factory, docker_kolla.adapters.registry\n"
        "import docker_kolla.adapters.auth, docker_kolla.adapters.credentials, docker_kolla.adapters.gitstore\n"
        "import docker_kolla.adapters.cache, docker_kolla.adapters.http\n",
        {"docker", "cryptography", "sigstore", "requests", "urllib3"},
    )
    # nor `cryptography` (~0.1-0.2 s): it is imported where a key is read or a signature checked;
    # nor requests (75 ms): registry traffic goes through adapters.transport
    assert out == "[]"


def test_what_a_relock_imports_before_its_first_head_leaves_out_what_can_wait():
    """``cli/prestart.py`` starts a re-lock's HEADs once these modules are loaded, so each of
    them is on that critical path: the CLI framework, git, the lockfile model, the
    credential-helper call (``shutil``, ``subprocess``) and the referrers parser load later,
    where they are used."""
    out = _loaded_after(
        "import docker_kolla.cli.plugin, docker_kolla.cli.interrupts, docker_kolla.cli.prestart\n"
        "import docker_kolla.adapters.fsio, docker_kolla.cli.factory, docker_kolla.core.channels\n"
        "import docker_kolla.ops.lockheads, docker_kolla.adapters.registry, docker_kolla.adapters.auth\n"
        "import docker_kolla.adapters.credentials, docker_kolla.adapters.http\n",
        {"typer", "dulwich", "shutil", "subprocess", "docker_kolla.core.referrers", "docker_kolla.core.lockfile"},
    )
    assert out == "[]"
