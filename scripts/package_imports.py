"""Print the pairs of app packages that import each other, and any longer import cycle
between packages (lazy imports included). Exit status 1 when there is one.

    python scripts/package_imports.py
"""

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "app"


def package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "app" else None


def main() -> int:
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT.parent).with_suffix("")
        source = package_of(".".join(relative.parts))
        if source is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                package = package_of(target)
                if package and package != source and (ROOT / package).is_dir():
                    edges[(source, package)].add(str(relative))
    pairs = sorted({tuple(sorted(p)) for p in edges if (p[1], p[0]) in edges})
    cycles = _cycles({p for p in edges})
    for a, b in pairs:
        print(f"{a} <-> {b}")
        print(f"  {a} -> {b}: {', '.join(sorted(edges[(a, b)]))}")
        print(f"  {b} -> {a}: {', '.join(sorted(edges[(b, a)]))}")
    if not pairs:
        print("no package pair imports each other")
    for cycle in cycles:
        print("import cycle through: " + ", ".join(cycle))
    if not cycles:
        print("no import cycle between packages")
    return 1 if pairs or cycles else 0


def _cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected groups of more than two packages (pairs are listed above)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 2:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


if __name__ == "__main__":
    sys.exit(main())
