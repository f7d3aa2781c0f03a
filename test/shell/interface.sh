# SPDX-License-Identifier: GPL-2.0-or-later
# Each program's --help, man page and bash/zsh/fish completions name the same
# long options and verbs, so the interface cannot drift.
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"

S=$ENCLAVE_SOURCE_DIR

longopts() { grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }

# The OPTIONS section of a man page source.
man_section() {
	awk -v want="# $2" '$0 == want { on = 1; next } /^# / { on = 0 } on' "$1"
}

help_corpus() {
	local tool=$1 verb first
	"$tool" --help
	# Verbs are the first words of the indented lines under "Commands:".
	for verb in $("$tool" --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }'); do
		first=$("$tool" "$verb" --help 2>/dev/null | head -n1)
		# Only the verb's own help: an alias that runs another program
		# (enclave create) documents that program's options there.
		case $first in
		"Usage: $tool $verb"*) "$tool" "$verb" --help ;;
		esac
	done
}

verbs_of() {
	"$1" --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }' | sort -u
}

for exe in "$T_BUILDDIR"/tools/enclave*; do
	[ -x "$exe" ] && [ -f "$exe" ] || continue
	tool=${exe##*/}
	case $tool in enclave-helper) continue ;; esac
	page=$(ls "$S"/man/"$tool".[18].scd 2>/dev/null | head -n1)
	ok "$tool has a man page" test -n "$page"
	[ -n "$page" ] || continue

	help=$(help_corpus "$tool" | longopts)
	man=$(man_section "$page" OPTIONS | longopts)
	bash=$(grep -v '^[[:space:]]*#' "$S/completions/bash/$tool" | longopts)
	zsh=$(grep -v '^[[:space:]]*#' "$S/completions/zsh/_$tool" | longopts)
	fish=$(grep -oE -- '(-l|--long-option) [a-z][a-z0-9-]*' "$S/completions/fish/$tool.fish" | awk '{ print "--" $2 }' | sort -u)

	ok "$tool --help lists options" test -n "$help"
	is "$man" "$help" "$tool: man page OPTIONS == --help"
	is "$bash" "$help" "$tool: bash completion options == --help"
	is "$zsh" "$help" "$tool: zsh completion options == --help"
	is "$fish" "$help" "$tool: fish completion options == --help"

	for verb in $(verbs_of "$tool"); do
		ok "$tool $verb: in the man page COMMANDS" grep -qE "^\*$verb\*" <(man_section "$page" COMMANDS)
		ok "$tool $verb: in the bash completion" grep -qw -- "$verb" "$S/completions/bash/$tool"
		ok "$tool $verb: in the zsh completion" grep -qw -- "$verb" "$S/completions/zsh/_$tool"
		ok "$tool $verb: in the fish completion" grep -qw -- "$verb" "$S/completions/fish/$tool.fish"
	done

	ok "$tool: bash completion parses" bash -n "$S/completions/bash/$tool"
	if command -v zsh >/dev/null; then
		ok "$tool: zsh completion parses" zsh -n "$S/completions/zsh/_$tool"
	else
		skip "$tool: zsh completion parses" "zsh not installed"
	fi
	if command -v fish >/dev/null; then
		ok "$tool: fish completion parses" fish -n "$S/completions/fish/$tool.fish"
	else
		skip "$tool: fish completion parses" "fish not installed"
	fi
	if command -v scdoc >/dev/null; then
		ok "$tool: man page renders" sh -c "scdoc <'$page' >/dev/null"
	fi
	for sec in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" "SEE ALSO"; do
		ok "$tool: man page has $sec" grep -qx "# $sec" "$page"
	done
done
