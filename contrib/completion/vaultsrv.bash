# bash completion for vaultsrv(8)                      -*- shell-script -*-

_vaultsrv()
{
	local cur prev cmd i
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}

	case $prev in
	--config|-c|--out|-o|--request|-r|--bundle|-b)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--account|-a|--ttl|-t|--grace|-g|--pace|-p|--fingerprint|-f)
		return
		;;
	esac

	# The command must be the first word.
	cmd=
	if ((COMP_CWORD > 1)); then
		case ${COMP_WORDS[1]} in
		init|token|serve|rotate|ceremony-request|ceremony-export|\
		ceremony-import)
			cmd=${COMP_WORDS[1]} ;;
		esac
	fi

	case $cmd in
	'')
		if ((COMP_CWORD == 1)) && [[ $cur != -* ]]; then
			COMPREPLY=($(compgen -W 'init token serve rotate
				ceremony-request ceremony-export ceremony-import' \
				-- "$cur"))
		else
			COMPREPLY=($(compgen -W '--help --version' -- "$cur"))
		fi
		;;
	token)
		COMPREPLY=($(compgen -W '--config --account --ttl --help' \
			-- "$cur"))
		;;
	init|serve)
		COMPREPLY=($(compgen -W '--config --help' -- "$cur"))
		;;
	rotate)
		COMPREPLY=($(compgen -W '--config --grace --pace --status --help' \
			-- "$cur"))
		;;
	ceremony-request)
		COMPREPLY=($(compgen -W '--config --out --help' -- "$cur"))
		;;
	ceremony-export)
		COMPREPLY=($(compgen -W '--config --request --fingerprint --out
			--help' -- "$cur"))
		;;
	ceremony-import)
		COMPREPLY=($(compgen -W '--config --bundle --non-extractable
			--help' -- "$cur"))
		;;
	esac
} &&
	complete -F _vaultsrv vaultsrv

# ex: filetype=sh
