#!/usr/bin/env bash
# Every command line of fuselint's GitHub Action (action.yml), in one script that also runs
# locally: `FUSELINT_BASE=origin/main scripts/ci-check.sh check` in any git checkout.
#
#   ci-check.sh install    pip install fuselint (FUSELINT_PACKAGE, default: this checkout)
#   ci-check.sh changed    list the Python files changed since the merge base, one a line
#   ci-check.sh check      lint the changed Python files: annotations on stdout, optional SARIF;
#                          exit 0 clean, 1 findings, 2 error (fuselint's own exit codes)
#   ci-check.sh confirm    `fuselint confirm` each changed kernel (a file defining ModelNew)
#                          against its reference; exit 1 when one fails
#
# Settings (environment; action.yml maps its inputs onto them):
#   FUSELINT_BASE           ref the change is measured from; empty: lint every file under
#                           FUSELINT_PATHS (a push, not a pull request)
#   FUSELINT_PATHS          folders or files to consider, space-separated (default: .)
#   FUSELINT_CHANGED_LINES_ONLY  true: report only findings on changed lines (--diff-base)
#   FUSELINT_BASELINE       a baseline file (--baseline): report only findings not recorded in it
#   FUSELINT_CONFIG         a pyproject.toml with [tool.fuselint] (default: the nearest one, as
#                           the pre-commit hook finds it)
#   FUSELINT_FORMAT         output format of `check` (default: github, inline annotations)
#   FUSELINT_SARIF          also write SARIF to this file (empty: no SARIF)
#   FUSELINT_ARGS           more arguments for `fuselint check`, space-separated
#   FUSELINT_REFERENCE      confirm: where a kernel's reference is; {dir}, {name} and {stem} stand
#                           for the kernel's folder, file name and file name without .py
#                           (default: references/{name})
#   FUSELINT_CONFIRM_ARGS   confirm: more arguments for `fuselint confirm` (e.g. --target sm_90)
#   FUSELINT                the fuselint command (default: fuselint)
#   GITHUB_STEP_SUMMARY     (set by GitHub) check also writes every finding, as text, there
set -uo pipefail

files=()
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
read -r -a fuselint <<< "${FUSELINT:-fuselint}"
read -r -a paths <<< "${FUSELINT_PATHS:-.}"
base="${FUSELINT_BASE:-}"

fail() {  # an error the workflow log shows as an annotation; exit 2, as fuselint does
    echo "::error title=fuselint::$1"
    echo "fuselint: error: $1" >&2
    exit 2
}

collect_changed() {
    # Sets `files`: the .py/.pyi files under $paths that the change adds or modifies (deleted
    # ones are gone), untracked files included; with no base, every such file under $paths.
    # Runs in this shell (not a subshell) so that `fail` ends the script.
    local listing merge_base
    git rev-parse --git-dir >/dev/null 2>&1 || fail "not a git repository: $(pwd)"
    if [[ -z "$base" ]]; then
        listing=$(git ls-files -z --cached --others --exclude-standard -- "${paths[@]}" | tr '\0' '\n') \
            || fail "git ls-files failed"
    else
        git rev-parse --verify --quiet "$base^{commit}" >/dev/null \
            || fail "unknown base '$base' (check out with fetch-depth: 0 so that the base commit is there)"
        merge_base=$(git merge-base "$base" HEAD) || fail "no merge base of '$base' and HEAD"
        listing=$( { git -c core.quotePath=false diff --name-only --relative --diff-filter=d -z "$merge_base" -- "${paths[@]}" &&
                     git ls-files -z --others --exclude-standard -- "${paths[@]}"; } | tr '\0' '\n') \
            || fail "git diff against '$base' failed"
    fi
    # The .py/.pyi files, as the pre-commit hook selects them (.pre-commit-hooks.yaml: files).
    # A file name holding a newline is not supported.
    local candidates=() name
    mapfile -t candidates < <(printf '%s\n' "$listing" | grep -E '\.pyi?$' | sort -u)
    files=()
    for name in "${candidates[@]}"; do
        [[ -f "$name" ]] && files+=("$name")  # a tracked file deleted in the working tree is gone
    done
}

run_install() {
    local package="${FUSELINT_PACKAGE:-}"
    [[ -n "$package" ]] || package="$here"
    read -r -a pip_args <<< "${FUSELINT_PIP_ARGS:-}"
    python -m pip install --disable-pip-version-check "${pip_args[@]}" "$package" || fail "pip install $package failed"
    "${fuselint[@]}" --version
}

run_check() {
    collect_changed
    local args=(check --output-format "${FUSELINT_FORMAT:-github}")
    [[ -n "${FUSELINT_CONFIG:-}" ]] && args+=(--config "$FUSELINT_CONFIG")
    [[ -n "${FUSELINT_BASELINE:-}" ]] && args+=(--baseline "$FUSELINT_BASELINE")
    if [[ "${FUSELINT_CHANGED_LINES_ONLY:-false}" == "true" && -n "$base" ]]; then
        args+=(--diff-base "$base")
    fi
    local extra=()
    read -r -a extra <<< "${FUSELINT_ARGS:-}"
    args+=("${extra[@]}")
    if [[ ${#files[@]} -eq 0 ]]; then
        echo "fuselint: no changed Python files under ${paths[*]}${base:+ since $base}"
        if [[ -n "${FUSELINT_SARIF:-}" ]]; then
            # An upload with no results closes the alerts that earlier runs opened: lint one
            # empty file for a SARIF document with fuselint's rules and no results.
            local empty
            empty="$(mktemp -d)/empty.py"
            : > "$empty"
            "${fuselint[@]}" "${args[@]}" --output-format sarif --exit-zero -- "$empty" > "$FUSELINT_SARIF"
        fi
        return 0
    fi
    echo "fuselint: checking ${#files[@]} changed Python file(s)${base:+ since $base}" >&2
    local status=0
    "${fuselint[@]}" "${args[@]}" -- "${files[@]}" || status=$?
    if [[ -n "${FUSELINT_SARIF:-}" ]]; then
        "${fuselint[@]}" "${args[@]}" --output-format sarif --exit-zero --quiet -- "${files[@]}" > "$FUSELINT_SARIF" \
            || status=2
    fi
    if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
        # GitHub shows at most 10 error annotations a step on the diff; the run's summary page
        # lists every finding (the cache makes this second pass cheap).
        {
            echo "### fuselint: ${#files[@]} changed Python file(s)${base:+ since \`$base\`}"
            echo '```text'
            "${fuselint[@]}" "${args[@]}" --output-format text --exit-zero -- "${files[@]}" 2>&1
            echo '```'
        } >> "$GITHUB_STEP_SUMMARY"
    fi
    return "$status"
}

run_confirm() {
    local pattern="${FUSELINT_REFERENCE:-}" status=0 confirmed=0
    [[ -n "$pattern" ]] || pattern="references/{name}"
    collect_changed
    local extra=()
    read -r -a extra <<< "${FUSELINT_CONFIRM_ARGS:-}"
    for kernel in "${files[@]}"; do
        [[ -f "$kernel" ]] && grep -q "class ModelNew" "$kernel" || continue
        local name dir reference
        name=$(basename "$kernel")
        dir=$(dirname "$kernel")
        reference="${pattern//\{dir\}/$dir}"
        reference="${reference//\{name\}/$name}"
        reference="${reference//\{stem\}/${name%.py}}"
        if [[ ! -f "$reference" ]]; then
            echo "::warning file=$kernel,title=fuselint confirm::no reference $reference for $kernel: not confirmed"
            continue
        fi
        echo "::group::fuselint confirm $kernel --reference $reference"
        local rc=0
        "${fuselint[@]}" confirm "$kernel" --reference "$reference" "${extra[@]}" || rc=$?
        echo "::endgroup::"
        confirmed=$((confirmed + 1))
        if [[ $rc -ne 0 ]]; then
            echo "::error file=$kernel,title=fuselint confirm::$kernel failed fuselint confirm against $reference (exit $rc)"
            [[ $status -eq 2 ]] || status=$(( rc == 2 ? 2 : 1 ))
        fi
    done
    echo "fuselint: confirmed $confirmed changed kernel(s)${base:+ since $base}"
    return "$status"
}

case "${1:-check}" in
    install) run_install ;;
    changed) collect_changed; [[ ${#files[@]} -eq 0 ]] || printf '%s\n' "${files[@]}" ;;
    check) run_check ;;
    confirm) run_confirm ;;
    *) echo "usage: $0 [install|changed|check|confirm]" >&2; exit 2 ;;
esac
