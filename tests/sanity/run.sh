#!/usr/bin/env bash
# ansible-test needs the tree at .../ansible_collections/hpc/ldms: run it on a
# copy of the checkout placed there, with pip bootstrapped from the index.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${VENV_BIN:-$repo/.venv/bin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/hpc/ldms
mkdir -p "$dest"
cd "$repo"
git ls-files --cached --others --exclude-standard -z | xargs -0 cp --parents -t "$dest"
cd "$dest"
git init -q && git add -A && git -c user.email=ci@localhost -c user.name=ci commit -qm tree
# ansible-test downloads get-pip from outside the package index; ours is equivalent.
cache=$HOME/.ansible/test/cache
mkdir -p "$cache"
for version in 24.2 25.1 25.3 26.0; do
  cp "$repo/tests/sanity/bootstrap_pip.py" "$cache/get_pip_${version//./_}.py"
done
PATH=$bin:$PATH ansible-test sanity --python 3.11 --local "$@"
