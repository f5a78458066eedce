#!/usr/bin/env python3
"""Loupe's source checker (our checksrc): named rules over every C file, plus
clang-format in dry-run mode. Prints 'file:line: RULE: message' and exits 1 on any."""
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIRS = ["src", "include", "tests", "bench", "tools"]
BANNED = re.compile(r"\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|atoll|atof|gets)\s*\(")
RAW_ALLOC = re.compile(r"\b(malloc|calloc|realloc|free)\s*\(")
LICENCE = re.compile(r"SPDX-License-Identifier|Copyright \(c\)|Copyright [0-9]{4}", re.I)
EXEMPT_NAMES = {"main", "LLVMFuzzerTestOneInput"}
MAX_FUNC_LINES = 200


def strip_code(text):
    """Blanks comments, strings and char literals, keeping line structure."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def module_prefix(rel):
    stem = os.path.splitext(os.path.basename(rel))[0]
    first = stem.split("_")[0]
    if rel.startswith("src/base/") or rel.startswith("include/loupe/base/"):
        return "lp_" + first
    # media's modules are named after what they decode (image, audio, video): generic words,
    # so the layer name leads (media_image_decode_file); media.c itself is plain media_.
    if rel.startswith("src/media/") and first != "media":
        return "media_" + first
    return first


def check_assign_in_cond(code, rel, problems):
    for m in re.finditer(r"\b(if|while)\s*\(", code):
        depth, j = 1, m.end()
        while j < len(code) and depth:
            depth += {"(": 1, ")": -1}.get(code[j], 0)
            j += 1
        cond = code[m.end():j - 1]
        if re.search(r"(?<![=!<>+\-*/%&|^])=(?!=)", cond):
            line = code.count("\n", 0, m.start()) + 1
            problems.append(f"{rel}:{line}: ASSIGN_IN_COND: assignment inside a condition")


def check_functions(code, rel, problems):
    lines = code.split("\n")
    in_tests = rel.startswith("tests/") or rel.startswith("tools/")
    prefix = module_prefix(rel)
    for i, line in enumerate(lines):
        if i + 1 >= len(lines) or lines[i + 1].strip() != "{" or not line or line[0] in " \t#{}":
            continue
        m = re.match(r"^(?:[\w\s\*]+?)\b(\w+)\s*\(", line)
        if not m or line.startswith("typedef") or line.rstrip().endswith(";"):
            continue
        name = m.group(1)
        start = i + 1
        depth, k = 0, i + 1
        while k < len(lines):
            depth += lines[k].count("{") - lines[k].count("}")
            if depth == 0:
                break
            k += 1
        if k - start > MAX_FUNC_LINES:
            problems.append(f"{rel}:{i + 1}: FUNC_LENGTH: {name} is {k - start} lines "
                            f"(max {MAX_FUNC_LINES})")
        if line.startswith("static") or name in EXEMPT_NAMES:
            continue
        if in_tests:
            problems.append(f"{rel}:{i + 1}: TEST_STATIC: {name} should be static")
        elif name != prefix and not name.startswith(prefix + "_"):
            problems.append(f"{rel}:{i + 1}: PREFIX: {name} does not start with '{prefix}_'")


def check_file(rel, problems):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        text = f.read()
    head = text.lstrip("\n").split("\n")
    if not head[0].startswith("/*") or "*/" in head[0]:
        problems.append(f"{rel}:1: HEADER: file must open with a comment of two or more lines")
    if LICENCE.search(text):
        problems.append(f"{rel}:1: NO_LICENCE_LINES: no SPDX or copyright lines in sources")
    code = strip_code(text)
    for n, line in enumerate(code.split("\n"), 1):
        if BANNED.search(line):
            problems.append(f"{rel}:{n}: BANNED: {BANNED.search(line).group(1)}() is banned")
        if RAW_ALLOC.search(line) and rel != "src/base/alloc.c":
            problems.append(f"{rel}:{n}: RAW_ALLOC: use lp_alloc* instead of "
                            f"{RAW_ALLOC.search(line).group(1)}()")
    for n, line in enumerate(text.split("\n"), 1):
        if len(line) > 100:
            problems.append(f"{rel}:{n}: LINE_LENGTH: {len(line)} columns (max 100)")
        if line.rstrip() != line:
            problems.append(f"{rel}:{n}: TRAILING_SPACE")
    check_assign_in_cond(code, rel, problems)
    if rel.endswith(".c"):
        check_functions(code, rel, problems)


def main():
    files = []
    for d in DIRS:
        for dirpath, _, names in os.walk(os.path.join(ROOT, d)):
            for name in sorted(names):
                if name.endswith((".c", ".h")):
                    files.append(os.path.relpath(os.path.join(dirpath, name), ROOT))
    problems = []
    for rel in sorted(files):
        check_file(rel, problems)
    fmt = shutil.which("clang-format")
    if fmt:
        r = subprocess.run([fmt, "--dry-run", "--Werror", "--style=file"] + sorted(files),
                           cwd=ROOT, capture_output=True, text=True)
        if r.returncode != 0:
            for line in r.stderr.splitlines():
                if ": error:" in line:
                    problems.append(line.replace(ROOT + "/", "") + " (CLANG_FORMAT)")
    else:
        problems.append("clang-format: not installed (tools/install-deps installs it)")
    for p in problems:
        print(p)
    print(f"check_style: {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
