"""MkDocs hook: tidy the reStructuredText left in numpydoc docstrings.

The docstrings write formulas as ``.. math:: ...`` and cross-references as
``:func:`name```; mkdocstrings passes both through as text. This hook shows a
formula as a preformatted block of LaTeX source (no JavaScript, nothing
fetched) and drops the role prefixes, keeping the name in code style.
"""

import re

_MATH_BLOCK = re.compile(r"<p>\.\. math::\s*(.*?)</p>", re.S)
_ROLE = re.compile(r":(?:math|func|class|meth|data|attr|mod|obj|exc):<code>")


def on_page_content(html, page, config, files):
    html = _MATH_BLOCK.sub(lambda match: f'<pre class="math"><code>{match.group(1).strip()}</code></pre>', html)
    return _ROLE.sub("<code>", html)
