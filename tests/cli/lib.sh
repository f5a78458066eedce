# Shared by the CLI tests (sourced, not run): `cli_setup NAME LOUPE TMPROOT` sets LOUPE and
# a private TMP removed on exit; fail and expect_exit report in one format.
cli_setup() {
    LOUPE=$2
    TMP=$3/cli_$1_$$
    mkdir -p "$TMP"
    trap 'rm -rf "$TMP"' EXIT
}

fail() { echo "FAIL: $*"; exit 1; }

expect_exit() { # code, grep pattern for stderr, command...
    local want=$1 pat=$2 got=0
    shift 2
    "$@" >"$TMP/out" 2>"$TMP/err" || got=$?
    [ "$got" -eq "$want" ] || { cat "$TMP/err"; fail "'$*' exited $got, want $want"; }
    grep -q -- "$pat" "$TMP/err" || { cat "$TMP/err"; fail "'$*' stderr lacks '$pat'"; }
}
