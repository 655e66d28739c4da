"""Stand-in for ansible-test's downloaded get-pip script.

ansible-test fetches get-pip from a host outside the package registries; this
does the same job with the interpreter's own ensurepip, then installs the
requested packages (pip==X, setuptools, wheel) from the package index.
"""

import subprocess
import sys


def main(argv):
    packages = [arg for arg in argv if not arg.startswith("-")]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    if packages:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q"] + packages)


if __name__ == "__main__":
    main(sys.argv[1:])
