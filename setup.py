"""nfvkit's build: metadata in setup.cfg, the version from the git tags.

The version comes from ``git describe`` through setuptools-scm, as pbr gives
OpenStack projects theirs: a tag ``1.2.0`` builds 1.2.0, commits after it
1.2.1.devN+g<hash>. Without git history (a shallow clone with no tag) it is
``0.0.0``-based rather than a failed build.

``pip install .`` installs the library and the ``nfv`` command with all their
dependencies. ``NFVKIT_WITHOUT_CLI=1 pip install .`` installs the library
alone, without the command-line stack (the ``cli`` extra: cliff, osc-lib,
tabulate); ``nfv`` then says in one line what to install.
"""

import os

import setuptools
from setuptools.dist import Distribution

#: Requirements of the command line only (also the ``cli`` extra).
CLI_REQUIREMENTS = ("cliff", "osc-lib", "tabulate")


def _name(requirement):
    for sep in "<>=!~; [":
        requirement = requirement.split(sep)[0]
    return requirement.strip().lower()


class NfvkitDistribution(Distribution):
    """Drops the command-line requirements when NFVKIT_WITHOUT_CLI is set."""

    def parse_config_files(self, *args, **kwargs):
        super().parse_config_files(*args, **kwargs)
        if os.environ.get("NFVKIT_WITHOUT_CLI", "").lower() in ("1", "true", "yes"):
            # Older setuptools write the metadata from _orig_install_requires,
            # newer ones from metadata.install_requires.
            for owner, attr in ((self, "install_requires"),
                                (self, "_orig_install_requires"),
                                (self.metadata, "install_requires")):
                if getattr(owner, attr, None):
                    setattr(owner, attr, [r for r in getattr(owner, attr)
                                          if _name(str(r)) not in CLI_REQUIREMENTS])


setuptools.setup(
    distclass=NfvkitDistribution,
    setup_requires=["setuptools-scm>=8"],
    use_scm_version={"fallback_version": "0.0.0",
                     "version_scheme": "guess-next-dev",
                     "local_scheme": "node-and-date"},
)
