"""Generate the Ocata channel preset from the Kolla fleet table.

Usage: python tools/make_preset.py tests/fixtures/kolla/ocata-images.tsv > docker_kolla/presets/ocata.toml

Images kolla-ansible deploys (a `*_image` variable) and that Kolla builds as
centos-binary go into `images`; the rest are listed, commented, by reason.
"""

import csv
import sys


def main(path: str) -> None:
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    deployed, unbuildable, intermediate, undeployed = [], [], [], []
    for row in rows:
        name, var, notes = row["image"], row["kolla_ansible_ocata_var"], row["notes"] or ""
        if var == "—":
            (intermediate if name.endswith("-base") or name in ("base", "openstack-base") else undeployed).append(name)
        elif "no centos-binary" in notes:
            unbuildable.append(name)
        else:
            deployed.append(name)
    out = sys.stdout
    out.write("# docker-kolla channels: the OpenStack Kolla Ocata fleet (kolla 4.0.x, Docker Hub kolla/).\n")
    out.write(f"# {len(rows)} images in stable/ocata; kolla-ansible deploys {len(deployed) + len(unbuildable)};\n")
    out.write(f"# {len(deployed)} of those are built as centos-binary (images); the other\n")
    out.write(
        f"# {len(unbuildable)} are optional-images. The {len(rows) - len(deployed) - len(unbuildable)} others are listed, commented, at the end.\n"
    )
    out.write("# Regenerate: python tools/make_preset.py tests/fixtures/kolla/ocata-images.tsv\n\n")
    out.write('[defaults]\nregistry = "docker.io"\nnamespace = "kolla"\n')
    out.write('name-template = "{distro}-{type}-{image}"\ndistro = "centos"\ntype = "binary"\n')
    out.write('platforms = ["linux/amd64"]\nmanifesto = ["labels", "content"]\n')
    out.write('revision-format = "{tag}-{revision}"\n')
    out.write("images = [\n" + "".join(f'    "{n}",\n' for n in sorted(deployed)) + "]\n")
    out.write("# Deployed by kolla-ansible but not built as centos-binary in Ocata: locked if the\n")
    out.write("# registry has them (another distro/type, a local build), skipped with a note otherwise.\n")
    out.write("optional-images = [\n" + "".join(f'    "{n}",\n' for n in sorted(unbuildable)) + "]\n")
    out.write("# Built but not deployed by kolla-ansible:\n")
    out.write("".join(f"#   {n}\n" for n in sorted(undeployed)))
    out.write("# Intermediate (parent) images, never deployed:\n")
    out.write("".join(f"#   {n}\n" for n in sorted(intermediate)))
    out.write('\n[channels.ocata]\ntag = "ocata"\n\n[channels."4.0.0"]\ntag = "4.0.0"\nstatic = true\n')


if __name__ == "__main__":
    main(sys.argv[1])
