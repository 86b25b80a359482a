"""skopeo as the independent copier: put an image somewhere without going through docker-kolla."""

import subprocess


def skopeo_copy(src: str, dst: str) -> None:
    """Copy ``src`` to ``dst`` (``host/repo:tag`` or ``@digest``), every platform, digests kept, plain HTTP."""
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--all",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            f"docker://{src}",
            f"docker://{dst}",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
