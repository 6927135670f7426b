# bash completion for vaultfs(1)                       -*- shell-script -*-

_vaultfs()
{
	local cur prev cmd i opts
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}

	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		init|mount|umount|unmount|passwd|fsck|status|restore|recovery-key|rekey)
			cmd=${COMP_WORDS[i]}
			break
			;;
		esac
	done

	case $prev in
	--recovery-key-file|--password-file|--new-password-file|--account-token-file|\
	--output|--new-recovery-key-file)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--log-level)
		COMPREPLY=($(compgen -W 'error warn info debug' -- "$cur"))
		return
		;;
	--vault)
		COMPREPLY=($(compgen -W 'https:// http://127.0.0.1:' -- "$cur"))
		compopt -o nospace 2>/dev/null
		return
		;;
	--account|--version|--help|-h)
		return
		;;
	-o)
		COMPREPLY=($(compgen -W 'allow_other allow_root auto_unmount
			noatime nodev nosuid noexec' -- "${cur##*,}"))
		if [[ $cur == *,* ]]; then
			COMPREPLY=("${COMPREPLY[@]/#/${cur%,*},}")
		fi
		return
		;;
	esac

	case $cmd in
	'')
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--help --version' -- "$cur"))
		else
			COMPREPLY=($(compgen -W 'init mount umount passwd fsck status
				restore recovery-key rekey' -- "$cur"))
		fi
		return
		;;
	init)
		opts='--recovery-key-file --no-recovery-key --vault --account
			--account-token-file --password-file --log-level --help
			--version'
		;;
	mount)
		opts='--recovery-key --recovery-key-file --vault --account
			--account-token-file --password-file --read-only
			--take-over --clean-grace --clean-interval -f
			--foreground -o --log-level --help --version'
		;;
	umount|unmount)
		opts='--log-level --help --version'
		;;
	passwd)
		opts='--password-file --recovery-key-file --new-password-file
			--vault --account --account-token-file --log-level --help
			--version'
		;;
	fsck)
		opts='--recovery-key --recovery-key-file --vault --account
			--account-token-file --password-file --repair --log-level
			--help --version'
		;;
	status)
		opts='--json --recovery-key --recovery-key-file --vault --account
			--account-token-file --password-file --log-level --help
			--version'
		;;
	restore)
		opts='--recovery-key --recovery-key-file --vault --account
			--account-token-file --password-file --log-level --help
			--version'
		;;
	recovery-key)
		opts='--show --output --recovery-key --recovery-key-file
			--password-file --vault --account --account-token-file
			--log-level --help --version'
		;;
	rekey)
		opts='--recovery-key --recovery-key-file --password-file
			--new-password-file --new-recovery-key-file
			--no-recovery-key --vault --account --account-token-file
			--log-level --help --version'
		;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	else
		# CLOUD_DIR and MOUNTPOINT are directories.
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur"))
	fi
} &&
	complete -F _vaultfs vaultfs

# ex: filetype=sh
