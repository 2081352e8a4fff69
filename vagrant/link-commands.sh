#!/usr/bin/env bash
# Puts sdnlab's commands on root's PATH: BIN/lab and BIN/pytest -> VENV/bin/lab, VENV/bin/pytest. sudo's
# secure_path and root's PATH have /usr/local/bin before /usr/bin, so `sudo lab ...` and `sudo pytest [DIR]`
# run the project's virtualenv, whose pytest loads sdnlab's plugin (entry point pytest11). Debian's own
# pytest (/usr/bin/pytest-3, python3-pytest) stays as it is. A BIN/pytest that is someone else's (a file,
# or a link into an environment provision.sh did not make) is left alone and said in one line; a link into
# an sdnlab virtualenv (its .sdnlab-installed stamp), or one whose target is gone, is repointed.
#   usage: link-commands.sh VENV [BIN]     (provision.sh: BIN=$SDNLAB_BIN, default /usr/local/bin)
set -euo pipefail
VENV=$1
BIN=${2:-/usr/local/bin}
mkdir -p "$BIN"
ln -sfn "$VENV/bin/lab" "$BIN/lab"

link=$BIN/pytest
ours=
if [ ! -e "$link" ] && [ ! -L "$link" ]; then
  ours=1                                              # nothing there
elif [ -L "$link" ]; then
  target=$(readlink "$link")
  case $target in /*) ;; *) target=$BIN/$target ;; esac
  if [ ! -e "$target" ] || [ -e "$(dirname "$(dirname "$target")")/.sdnlab-installed" ]; then
    ours=1                                            # a dangling link, or one into an sdnlab virtualenv
  fi
fi
if [ -n "$ours" ]; then
  ln -sfn "$VENV/bin/pytest" "$link"
else
  what="a file"; [ ! -L "$link" ] || what="a link to $(readlink "$link")"
  echo "provision: $link is not sdnlab's ($what): left as it is; sdnlab's pytest is $VENV/bin/pytest" >&2
fi
