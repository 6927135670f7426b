#!/bin/sh
# 45-recovery-key.sh - `vaultfs recovery-key --show` through a real vault:
# the password gets K from the vault, the key is checked against the
# header and shown again: exactly the key init wrote; on a terminal (a
# pty from script(1)) it is printed, to a pipe it is refused without
# --output; --output never overwrites; a wrong password shows nothing and
# costs one attempt; the key is in no log or state file.
. "${top_srcdir:-.}/tests/integration/vint-lib.sh"

vi_setup alice
vi_pw "$T/pw" 'recovery 45 password'
vi_init "$T/cloud" "$T/key" "$T/pw"

# (1) --output: the same key init wrote, mode 0600
expect_code 0 "$VAULTFS" recovery-key --show --password-file "$T/pw" \
	--output "$T/shown" "$T/cloud"
cmp -s "$T/key" "$T/shown" || fail "shown key differs from init's: $(cat "$T/shown")"
[ "$(stat -c %a "$T/shown")" = 600 ] || fail "output mode $(stat -c %a "$T/shown")"
grep -q "is in '$T/shown'" "$T/out" || fail "output message: $(cat "$T/out")"
echo "45: recovery-key --show --output gives init's key ($(cut -c1-4 "$T/key")...)"

# (2) never overwritten
expect_code 2 "$VAULTFS" recovery-key --show --password-file "$T/pw" \
	--output "$T/shown" "$T/cloud"
expect_err "refusing to overwrite"
cmp -s "$T/key" "$T/shown" || fail "existing output file changed"

# (3) not a terminal, no --output: refused before asking anything
expect_code 2 "$VAULTFS" recovery-key --show --password-file "$T/pw" "$T/cloud"
expect_err "not a terminal"
[ ! -s "$T/out" ] || fail "something went to stdout: $(cat "$T/out")"
# without --show: usage
expect_code 2 "$VAULTFS" recovery-key --password-file "$T/pw" "$T/cloud"
expect_err "needs --show"

# (4) on a terminal: printed, the same 64 digits
if command -v script >/dev/null 2>&1; then
	script -qec "'$VAULTFS' recovery-key --show --password-file '$T/pw' '$T/cloud'" \
		/dev/null >"$T/tty" 2>&1 || fail "recovery-key on a pty: $(cat "$T/tty")"
	grep -q -F "$(cat "$T/key")" "$T/tty" ||
		fail "the key printed on the terminal is not init's: $(cat "$T/tty")"
	echo "45: on a terminal the same key is printed"
else
	echo "45: script(1) missing: terminal output not checked"
fi

# (5) a wrong password: nothing shown, one attempt counted
vi_pw "$T/bad" 'not the password'
expect_code 12 "$VAULTFS" recovery-key --show --password-file "$T/bad" \
	--output "$T/shown2" "$T/cloud"
[ ! -e "$T/shown2" ] || fail "a key file was written for a wrong password"
[ "$(vi_attempts alice)" = 1 ] || fail "attempts $(vi_attempts alice), expected 1"

# (6) the 64-digit key file as the key option: checked, shown
expect_code 0 "$VAULTFS" recovery-key --show --recovery-key-file "$T/key" \
	--output "$T/shown3" "$T/cloud"
cmp -s "$T/key" "$T/shown3" || fail "shown (key file) differs"
# a key of another store: wrong key, exit 5
"$VAULTFS" init --recovery-key-file "$T/key-other" "$T/other" >/dev/null
expect_code 5 "$VAULTFS" recovery-key --show --recovery-key-file "$T/key-other" \
	--output "$T/shown4" "$T/cloud"
[ ! -e "$T/shown4" ] || fail "a wrong key was written out"

# (7) the key (hex digits without spaces) is in no state or log file
hex=$(tr -d ' \n' <"$T/key")
if grep -r -q -i -F "$hex" "$XDG_STATE_HOME" "$T/cloud" 2>/dev/null; then
	fail "the key appears in the state folder or the cloud folder"
fi
echo "45: wrong password shows nothing (1 attempt); key file checked; key in no state file"
