"""The ``Examples:`` section of each command's ``--help``, keyed by its path after ``docker kolla``.

Every command needs an entry: tests/cli/test_help.py fails on a command without one.
"""

from __future__ import annotations

EXAMPLES: dict[str, tuple[str, ...]] = {
    "": (
        "docker kolla init --registry registry.example:5000",
        "docker kolla lock ocata",
        "docker kolla diff HEAD~1 --format markdown",
        "docker kolla promote ocata --to prod.example:5000/kolla",
    ),
    "init": (
        "# a repository for your own registry, three images, channel ocata",
        "docker kolla init --registry registry.example:5000",
        "# the whole Kolla Ocata fleet, or a current release",
        "docker kolla init --preset ocata",
        "docker kolla init --list-presets",
    ),
    "lock": (
        "docker kolla lock ocata",
        "docker kolla lock ocata --image nova-api --image keystone",
        "# commit on a branch and push it for a pull request",
        "docker kolla lock ocata --branch lock/ocata --push origin",
        "# in CI: exit 1 when the lock changed, 0 (nothing pushed) on a quiet night",
        "docker kolla lock ocata --branch lock/ocata-$(date -u +%F) --push origin --exit-code",
        "docker kolla lock ocata --dry-run --format json",
        "docker kolla lock ocata --exclude 'nova-*'",
        "docker kolla lock ocata --insecure-registry localhost:5000",
    ),
    "diff": (
        "# HEAD against the work tree",
        "docker kolla diff",
        "docker kolla diff HEAD~1",
        "docker kolla diff main~2..main --channel ocata --format markdown",
        "docker kolla diff HEAD~1 --format json --exit-code",
        "# the channel's previous lock, skipping commits that did not change it",
        "docker kolla diff ocata~1",
    ),
    "log": (
        "docker kolla log nova-api",
        "docker kolla log nova-api --channel ocata --lock HEAD~3 --format json",
        "# one line per lock commit of the channel, with its ocata~N address",
        "docker kolla log --channel ocata",
    ),
    "verify": (
        "docker kolla verify",
        "docker kolla verify ocata --remote",
    ),
    "inspect": (
        "docker kolla inspect kolla/centos-binary-nova-api:ocata",
        "docker kolla inspect localhost:5000/kolla/nova-api:ocata --insecure-registry localhost:5000 --format json",
        "docker kolla inspect kolla/nova-api:ocata --platform linux/amd64 --platform linux/arm64",
    ),
    "pull": (
        "docker kolla pull ocata",
        "# roll back to the previous lock",
        "docker kolla pull ocata --lock HEAD~1",
        "docker kolla pull ocata --image nova-api --mark deployed",
    ),
    "export": (
        "docker kolla export ocata > globals-pins.yml",
        "docker kolla export ocata --format compose --registry prod.example:5000/kolla -o images.yml",
        "docker kolla export ocata --lock v1.0 --format json",
    ),
    "status": (
        "docker kolla status",
        "docker kolla status ocata --context prod-1 --context prod-2 --exit-code",
        "docker kolla status --format json",
    ),
    "promote": (
        "# what would be copied (exit 1 if anything)",
        "docker kolla promote ocata --to prod.example:5000/kolla --dry-run",
        "docker kolla promote ocata --to prod.example:5000/kolla",
        "docker kolla promote ocata --to prod.example:5000 --lock HEAD~1 --image nova-api",
        "# fail closed on signatures; carry them and publish the manifesto at the destination",
        "docker kolla promote ocata --to prod.example:5000/kolla --verify --attach-manifesto",
    ),
    "attach": (
        "docker kolla attach ocata",
        "docker kolla attach ocata --to mirror.example:5000/kolla --image nova-api",
        "# sign each artifact (an encrypted key's password from the environment)",
        "DOCKER_KOLLA_SIGN_PASSWORD=... docker kolla attach ocata --sign-key kolla.key",
        "# a consumer trusting that key: the attached manifesto instead of reading the layers",
        "docker kolla lock ocata --trust-attached-manifesto",
    ),
    "sbom": (
        "docker kolla sbom nova-api --format spdx --output nova-api.spdx.json",
        "docker kolla sbom ocata --format cyclonedx",
    ),
    "version": ("docker kolla version", "docker kolla version --format json", "docker kolla --version"),
    "cache": ("docker kolla cache prune --older-than 30",),
    "cache prune": (
        "docker kolla cache prune",
        "docker kolla cache prune --older-than 30 --force",
    ),
    "rollback": (
        "# nova-api back to the content of the channel's previous lock, as a new revision",
        'docker kolla rollback ocata --to ocata~1 --image nova-api --reason "15.0.4 breaks cells v1"',
    ),
    "merge-driver": (
        "# once per clone: .gitattributes and the repository's git config",
        "docker kolla merge-driver install",
        "# what git then runs for lockfiles/*.toml",
        "docker kolla merge-driver %O %A %B %P",
    ),
}
