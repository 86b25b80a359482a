#!/bin/sh
# The scheduled half of the docker-kolla CI loop: re-lock one channel on a dated branch,
# push it, and write the pull-request body. Called by github-actions.yml and gitlab-ci.yml;
# run it by hand the same way from a clone of the lock repository.
#
#   examples/ci/nightly-lock.sh CHANNEL [REMOTE]
#
# Environment (all optional):
#   LOCK_DATE    the date in the branch name (default: today, UTC, YYYY-MM-DD)
#   LOCK_RESULT  where to write the result as KEY=value lines (default: lock-result.env);
#                the format GitHub's $GITHUB_OUTPUT and GitLab's dotenv reports read
#   LOCK_BODY    where to write the pull-request body (default: lock-pr-body.md)
#   LOCK_ARGS    extra arguments for `docker kolla lock` (e.g. --insecure-registry HOST)
#   DOCKER_KOLLA the command to run (default: `docker kolla`; `docker-kolla` without the docker CLI)
#
# Exit status: 0 when the channel did not change (nothing pushed) or the branch was
# pushed and the body written; anything else is docker kolla's own error status.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 CHANNEL [REMOTE]" >&2
    exit 2
fi
channel=$1
remote=${2:-origin}
day=${LOCK_DATE:-$(date -u +%Y-%m-%d)}
branch="lock/${channel}-${day}"
result=${LOCK_RESULT:-lock-result.env}
body=${LOCK_BODY:-lock-pr-body.md}
kolla=${DOCKER_KOLLA:-docker kolla}

status=0
# shellcheck disable=SC2086  # $kolla and LOCK_ARGS are lists of words on purpose
$kolla lock "$channel" --branch "$branch" --push "$remote" --exit-code ${LOCK_ARGS:-} || status=$?
case $status in
0)
    printf 'LOCK_CHANGED=false\nLOCK_BRANCH=\nLOCK_BODY=\n' >"$result"
    exit 0
    ;;
1) ;;
*) exit "$status" ;;
esac

# What the branch changes against the commit it was locked from (the default branch).
# shellcheck disable=SC2086
$kolla diff HEAD "$branch" --channel "$channel" --format markdown >"$body"
printf 'LOCK_CHANGED=true\nLOCK_BRANCH=%s\nLOCK_BODY=%s\n' "$branch" "$body" >"$result"
echo "pushed $branch to $remote; pull-request body in $body"
