"""MkDocs hooks for the docs site (mkdocs.yml names this file under ``hooks:``).

Three things the plain build cannot do:

- **MathJax from the site itself.**  The formulas (pymdownx.arithmatex) are typeset by MathJax 3,
  whose files ship in the ``django-static-mathjax`` package (MathJax's own release, no
  dependencies): its single-file ``tex-svg-full.js`` is added to the site, so no page loads anything
  from a CDN and the site reads offline.
- **Links into the repository.**  The pages link to source files outside ``docs/``
  (``../reference/mlp.py``, ``../tests/implementations/``).  Each such link whose target exists is
  pointed at a copy of the file served under ``source/`` (a folder gets a generated page listing its
  files); a target that does not exist is left alone, so ``--strict`` still fails on it.
- **README as the home page.**  ``docs/index.md`` is replaced by the README, its links rewritten the
  same way (``docs/claims.md`` → ``claims.md``, ``reference/`` → the listing of ``source/reference``).
"""

from __future__ import annotations

import os
import posixpath
import re

from mkdocs.structure.files import File, Files, InclusionLevel

SOURCE_PREFIX = "source"  # where the repository's files appear in the site
MATHJAX_URI = "javascripts/mathjax/tex-svg.js"  # as named in mkdocs.yml's extra_javascript
SKIPPED_NAMES = {"__pycache__", ".hypothesis", ".pytest_cache"}

# an inline Markdown link or image target: ](target) or ](target "title")
_LINK = re.compile(r"(\]\()([^)\s#]*)(#[^)\s]*)?((?:\s+\"[^\"]*\")?\))")
_FENCE = re.compile(r"^(```|~~~)")


def _repo_root(config) -> str:
    return os.path.dirname(os.path.abspath(config.config_file_path))


def _docs_dir(config) -> str:
    return os.path.abspath(config.docs_dir)


def _mathjax_file() -> str:
    import mathjax  # django-static-mathjax

    return os.path.join(os.path.dirname(mathjax.__file__), "static", "mathjax", "es5", "tex-svg-full.js")


def _is_external(target: str) -> bool:
    return target == "" or "://" in target or target.startswith(("mailto:", "/", "data:"))


def _outside_targets(markdown: str, base_dir: str, docs_dir: str, repo: str):
    """(start, end, repository-relative path, is_dir, anchor) for each link of ``markdown`` (whose
    relative links are taken from ``base_dir``) to an existing file or folder of the repository
    outside docs/, skipping fenced code blocks."""
    offset, in_fence = 0, False
    for line in markdown.splitlines(keepends=True):
        if _FENCE.match(line.lstrip()):
            in_fence = not in_fence
        elif not in_fence:
            for m in _LINK.finditer(line):
                target = m.group(2)
                if _is_external(target):
                    continue
                path = os.path.normpath(os.path.join(base_dir, target))
                inside_repo = os.path.commonpath([path, repo]) == repo
                inside_docs = os.path.commonpath([path, docs_dir]) == docs_dir
                if inside_repo and os.path.exists(path):
                    yield (offset + m.start(2), offset + m.end(2), os.path.relpath(path, repo).replace(os.sep, "/"),
                           os.path.isdir(path), inside_docs)
        offset += len(line)


def _site_uri(repo_path: str, is_dir: bool, inside_docs: bool) -> str:
    """The src_uri a repository path has in the site."""
    if inside_docs:
        return posixpath.relpath(repo_path, "docs") + ("/index.md" if is_dir else "")
    return f"{SOURCE_PREFIX}/{repo_path}" + ("/index.md" if is_dir else "")


def _listing(repo: str, repo_path: str) -> tuple[str, list[str], list[str]]:
    """A page listing a folder's files (folders first), and the repository paths of its files and folders."""
    folder = os.path.join(repo, repo_path)
    names = sorted(n for n in os.listdir(folder) if n not in SKIPPED_NAMES and not n.startswith("."))
    dirs = [n for n in names if os.path.isdir(os.path.join(folder, n))]
    files = [n for n in names if os.path.isfile(os.path.join(folder, n))]
    lines = [f"# `{repo_path}/`", ""]
    lines += [f"- [`{n}/`]({n}/index.md)" for n in dirs]
    lines += [f"- [`{n}`]({n})" for n in files]
    return "\n".join(lines) + "\n", [f"{repo_path}/{n}" for n in files], [f"{repo_path}/{n}" for n in dirs]


def _add_repo_path(files: Files, config, repo: str, repo_path: str, is_dir: bool) -> None:
    uri = _site_uri(repo_path, is_dir, inside_docs=False)
    if files.get_file_from_path(uri) is not None:
        return
    if not is_dir:
        if repo_path.endswith(".md"):  # served as text, not built as a page
            uri += ".txt"
            if files.get_file_from_path(uri) is not None:
                return
        files.append(File.generated(config, uri, abs_src_path=os.path.join(repo, repo_path),
                                    inclusion=InclusionLevel.NOT_IN_NAV))
        return
    content, file_paths, dir_paths = _listing(repo, repo_path)
    files.append(File.generated(config, uri, content=content, inclusion=InclusionLevel.NOT_IN_NAV))
    for path in file_paths:
        _add_repo_path(files, config, repo, path, is_dir=False)
    for path in dir_paths:
        _add_repo_path(files, config, repo, path, is_dir=True)


def _home_markdown(repo: str) -> str:
    with open(os.path.join(repo, "README.md"), encoding="utf-8") as f:
        return f.read()


def _rewrite(markdown: str, base_dir: str, page_uri: str, config) -> str:
    repo, docs_dir = _repo_root(config), _docs_dir(config)
    out, last = [], 0
    for start, end, repo_path, is_dir, inside_docs in _outside_targets(markdown, base_dir, docs_dir, repo):
        if inside_docs and base_dir == os.path.dirname(os.path.join(docs_dir, page_uri)):
            continue  # an ordinary link between pages: mkdocs resolves it
        uri = _site_uri(repo_path, is_dir, inside_docs)
        if not inside_docs and not is_dir and repo_path.endswith(".md"):
            uri += ".txt"
        out += [markdown[last:start], posixpath.relpath(uri, posixpath.dirname(page_uri) or ".")]
        last = end
    return "".join(out) + markdown[last:]


# -- the hooks -----------------------------------------------------------------------------


def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, MATHJAX_URI, abs_src_path=_mathjax_file()))
    repo, docs_dir = _repo_root(config), _docs_dir(config)
    for page in list(files.documentation_pages()):
        if page.src_uri == "index.md":
            markdown, base_dir = _home_markdown(repo), repo
        else:
            with open(page.abs_src_path, encoding="utf-8") as f:
                markdown = f.read()
            base_dir = os.path.dirname(page.abs_src_path)
        for _, _, repo_path, is_dir, inside_docs in _outside_targets(markdown, base_dir, docs_dir, repo):
            if not inside_docs:
                _add_repo_path(files, config, repo, repo_path, is_dir)
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.generated_by is not None:
        return markdown  # the listings: their links are already the site's
    if page.file.src_uri == "index.md":
        repo = _repo_root(config)
        return _rewrite(_home_markdown(repo), repo, "index.md", config)
    return _rewrite(markdown, os.path.dirname(page.file.abs_src_path), page.file.src_uri, config)
