//! No crate has an import cycle between its files (docs/architecture.md#no-import-cycles): a file that takes a
//! name from another never, through any chain, is taken from by it. A cycle makes every file in it
//! a dependency of every other, so a change to one rebuilds and re-reviews them all, and it is how
//! a bag of shared state spreads. This test reads the workspace's sources (no compiler needed: it
//! runs in a second) and names every cycle with the names that tie it.
//!
//! What counts as one file taking from another: a `use` or a path in code that names a module of
//! the crate (`crate::a::b::Name`, `super::Name`, `self::a::Name`, or a child module `a::Name`),
//! resolved to the file that defines that module, through `pub use` re-exports. Declaring a child
//! (`mod a;`) and re-exporting (`pub use a::Name;`) are not uses: a parent that only declares and
//! re-exports its children stays below them. A child taking from its own parent is not counted
//! either: a folder is one component whose `mod.rs` (or the crate root) holds what its parts
//! share, such as a registry's enum over its members and the types they all speak. Everything
//! else counts, between siblings and across folders. Unit-test modules (`#[cfg(test)] mod tests`)
//! are left out: a test may reach anywhere in its crate.
//!
//! The same reading also measures how wide the load-bearing types are, and fails when one grows
//! past its ceiling ([`the_shared_types_grow_no_wider`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use regex_lite::Regex;

/// One crate's files by module path (`["monitors", "shard"]`), each with its text.
struct Crate {
    name: String,
    files: BTreeMap<Vec<String>, (PathBuf, String)>,
}

fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            // A binary's extra targets (src/bin) are crates of their own.
            if path.file_name().is_some_and(|n| n != "bin") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text without comments, string literals and unit-test modules.
fn code_of(text: &str) -> String {
    let mut cut = text.len();
    for marker in ["#[cfg(test)]\nmod ", "#[cfg(test)]\npub mod ", "#[cfg(test)]\npub(crate) mod "] {
        if let Some(at) = text.find(marker) {
            cut = cut.min(at);
        }
    }
    let text = &text[..cut];
    let raw_string = Regex::new(r##"(?s)r(#*)".*?"#*"##).unwrap();
    let char_literal = Regex::new(r"'(\\.|[^'\\])'").unwrap();
    let string = Regex::new(r#""(\\.|[^"\\])*""#).unwrap();
    let comment = Regex::new(r"(?m)//.*$").unwrap();
    let text = raw_string.replace_all(text, "\"\"");
    let text = char_literal.replace_all(&text, "' '");
    comment.replace_all(&string.replace_all(&text, "\"\""), "").into_owned()
}

fn crates(root: &Path) -> Vec<Crate> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).expect("crates/") {
        let dir = entry.expect("entry").path();
        let src = dir.join("src");
        if !src.is_dir() {
            continue;
        }
        let mut paths = Vec::new();
        rust_files(&src, &mut paths);
        let files = paths
            .into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("readable");
                (module_path(&src, &p), (p.strip_prefix(root).unwrap().to_path_buf(), code_of(&text)))
            })
            .collect();
        out.push(Crate { name: dir.file_name().unwrap().to_string_lossy().into_owned(), files });
    }
    out
}

/// Expands one `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(tree: &str) -> Vec<String> {
    // An alias (`W as V`) names the same item.
    let tree = Regex::new(r"\s+as\s+[A-Za-z_0-9]+").unwrap().replace_all(tree, "");
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{').filter(|_| tree.ends_with('}')) else {
        return vec![tree];
    };
    let (prefix, rest) = (&tree[..open], &tree[open + 1..tree.len().saturating_sub(1)]);
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in rest.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&rest[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&rest[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| {
            expand(p).into_iter().map(move |e| {
                if e == "self" { prefix.trim_end_matches("::").to_string() } else { format!("{prefix}{e}") }
            })
        })
        .collect()
}

/// A path as written in module `at`, made absolute (`None`: not a path into this crate).
fn absolute(at: &[String], children: &BTreeSet<String>, path: &str) -> Option<Vec<String>> {
    let segments: Vec<&str> = path.split("::").collect();
    let mut module: Vec<String> = match segments[0] {
        "crate" => Vec::new(),
        "self" => at.to_vec(),
        "super" => at[..at.len().checked_sub(1)?].to_vec(),
        first if children.contains(first) => {
            let mut m = at.to_vec();
            m.push(first.to_string());
            m
        }
        _ => return None,
    };
    for s in &segments[1..] {
        if *s == "super" {
            module.pop()?;
        } else {
            module.push(s.to_string());
        }
    }
    Some(module)
}

struct Graph {
    /// file -> file -> the names the first takes from the second.
    edges: BTreeMap<PathBuf, BTreeMap<PathBuf, BTreeSet<String>>>,
}

fn graph(krate: &Crate) -> Graph {
    let use_stmt = Regex::new(r"(?s)\b(pub(\([a-z]+\))?\s+)?use\s+([^;]+);").unwrap();
    let mod_decl = Regex::new(r"(?m)^\s*(pub(\([a-z:]+\))?\s+)?mod\s+([a-z_0-9]+)\s*;").unwrap();
    let code_path =
        Regex::new(r"\b((crate|super|self)(::[A-Za-z_][A-Za-z0-9_]*)+|[a-z_][a-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)+)")
            .unwrap();
    // Which child modules each module declares, and the names it re-exports.
    let mut children: HashMap<Vec<String>, BTreeSet<String>> = HashMap::new();
    for (module, (_, code)) in &krate.files {
        let set = mod_decl.captures_iter(code).map(|c| c[3].to_string()).collect();
        children.insert(module.clone(), set);
    }
    let mut reexports: HashMap<(Vec<String>, String), Vec<String>> = HashMap::new();
    for (module, (_, code)) in &krate.files {
        for c in use_stmt.captures_iter(code).filter(|c| c.get(1).is_some()) {
            for path in expand(&c[3]) {
                if let Some(target) = absolute(module, &children[module], &path) {
                    let name = path.rsplit("::").next().unwrap().to_string();
                    reexports.insert((module.clone(), name), target);
                }
            }
        }
    }
    // The file that defines the longest module prefix of `target`, following re-exports.
    let resolve = |mut target: Vec<String>| -> Option<(PathBuf, String)> {
        for _ in 0..8 {
            let mut len = target.len();
            while len > 0 && !krate.files.contains_key(&target[..len]) {
                len -= 1;
            }
            let module = target[..len].to_vec();
            let name = target.get(len).cloned().unwrap_or_default();
            match reexports.get(&(module.clone(), name.clone())) {
                Some(next) if *next != target => target = next.clone(),
                _ => return Some((krate.files[&module].0.clone(), name)),
            }
        }
        None
    };
    let mut edges: BTreeMap<PathBuf, BTreeMap<PathBuf, BTreeSet<String>>> = BTreeMap::new();
    for (module, (file, code)) in &krate.files {
        let mine = &children[module];
        let mut paths = Vec::new();
        for c in use_stmt.captures_iter(code).filter(|c| c.get(1).is_none()) {
            paths.extend(expand(&c[3]));
        }
        let without_uses = use_stmt.replace_all(code, "");
        let without_mods = mod_decl.replace_all(&without_uses, "");
        paths.extend(code_path.find_iter(&without_mods).map(|m| m.as_str().to_string()));
        for path in paths {
            let Some(target) = absolute(module, mine, &path) else { continue };
            let Some((to, name)) = resolve(target) else { continue };
            let parent = &module[..module.len().saturating_sub(1)];
            let to_parent = !module.is_empty() && krate.files.get(parent).is_some_and(|(f, _)| *f == to);
            if &to != file && !to_parent {
                edges.entry(file.clone()).or_default().entry(to).or_default().insert(name);
            }
        }
    }
    Graph { edges }
}

/// Strongly connected components of more than one file (Tarjan's algorithm, iteratively small).
fn cycles(graph: &Graph) -> Vec<Vec<PathBuf>> {
    struct State<'a> {
        graph: &'a Graph,
        index: HashMap<&'a PathBuf, usize>,
        low: HashMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on_stack: BTreeSet<&'a PathBuf>,
        found: Vec<Vec<PathBuf>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a PathBuf) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.edges.get(v).map(|m| m.keys().collect::<Vec<_>>()).unwrap_or_default() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

#[test]
fn no_crate_has_an_import_cycle() {
    let mut report = String::new();
    for krate in crates(&workspace()) {
        let graph = graph(&krate);
        for cycle in cycles(&graph) {
            report.push_str(&format!("\n{}: {} files in one cycle:\n", krate.name, cycle.len()));
            let members: BTreeSet<&PathBuf> = cycle.iter().collect();
            for from in &cycle {
                for (to, names) in graph.edges.get(from).into_iter().flatten().filter(|(to, _)| members.contains(to)) {
                    let names: Vec<&str> =
                        names.iter().map(|n| if n.is_empty() { "(the module)" } else { n }).collect();
                    report.push_str(&format!("  {} -> {}: {}\n", from.display(), to.display(), names.join(", ")));
                }
            }
        }
    }
    assert!(
        report.is_empty(),
        "import cycles (docs/architecture.md#no-import-cycles: move what both sides need to a leaf module):{report}"
    );
}

/// The checker itself finds a cycle, through a child module, `super`, a re-export and a `use` tree.
#[test]
fn the_checker_sees_a_cycle_of_each_kind_of_path() {
    let files = [
        (vec![], "mod a;\nmod b;\npub use b::Thing;\n"),
        (vec!["a".to_string()], "use crate::Thing;\npub fn f() {}\n"),
        (vec!["b".to_string()], "pub struct Thing;\nfn g() { super::a::f() }\n"),
    ];
    let krate = Crate {
        name: "demo".into(),
        files: files
            .iter()
            .map(|(m, t)| (m.clone(), (PathBuf::from(format!("{}.rs", m.join("/"))), code_of(t))))
            .collect(),
    };
    let found = cycles(&graph(&krate));
    assert_eq!(
        found,
        vec![vec![PathBuf::from("a.rs"), PathBuf::from("b.rs")]],
        "a uses b's Thing through the root's re-export; b calls a::f"
    );
    // A child taking from its own parent is one component, not a cycle.
    let family = Crate {
        name: "demo".into(),
        files: [
            (vec![], "mod a;\npub struct Shared;\nfn f() { a::g() }\n"),
            (vec!["a".to_string()], "use super::Shared;\npub fn g() {}\n"),
        ]
        .iter()
        .map(|(m, t)| (m.clone(), (PathBuf::from(format!("{}.rs", m.join("/"))), code_of(t))))
        .collect(),
    };
    assert!(cycles(&graph(&family)).is_empty());
    let nested = expand("crate::x::{self, y::{Z, W as V}, u}");
    assert_eq!(nested, ["crate::x", "crate::x::y::Z", "crate::x::y::W", "crate::x::u"]);
    // Comments, strings and test modules are not code.
    let code = code_of("// use crate::a;\nfn f() { \"crate::a::f\"; }\n#[cfg(test)]\nmod tests { use crate::a; }\n");
    assert!(!code.contains("crate::a"), "{code}");
}

/// The text of the `{...}` block whose opening brace is the first at or after `start`.
fn block_after(text: &str, start: usize) -> &str {
    let open = start + text[start..].find('{').expect("a block");
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    &text[open + 1..]
}

/// The `fn`s at the top level of a block: a trait's methods.
fn top_level_fns(body: &str) -> usize {
    let fn_line = Regex::new(r"^\s*(pub\s+)?(async\s+)?fn\s").unwrap();
    let (mut n, mut depth) = (0, 0i32);
    for line in body.lines() {
        if depth == 0 && fn_line.is_match(line) {
            n += 1;
        }
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
    }
    n
}

/// How wide the load-bearing types are (issue 62, docs/architecture.md): the widest `*Store`
/// trait's methods, `Shared`'s fields, the files with an `impl Engine` block, the most
/// integration-test binaries of one crate, the longest `macro_rules!` body in the store, and the
/// server files that take the store from the engine.
fn widths(root: &Path) -> [(String, usize); 6] {
    let files = |dir: &str| {
        let mut out = Vec::new();
        rust_files(&root.join(dir), &mut out);
        out.into_iter().map(|f| std::fs::read_to_string(f).expect("readable"))
    };
    let store_trait = Regex::new(r"pub\s+trait\s+(\w*Store\w*)\b[^{;]*\{").unwrap();
    let (mut widest, mut widest_name) = (0, String::new());
    let macro_start = Regex::new(r"macro_rules!\s*\w+\s*\{").unwrap();
    let mut longest_macro = 0;
    for text in files("crates/store/src") {
        for m in store_trait.captures_iter(&text) {
            let n = top_level_fns(block_after(&text, m.get(0).unwrap().start()));
            if n > widest {
                (widest, widest_name) = (n, m[1].to_string());
            }
        }
        for m in macro_start.find_iter(&text) {
            longest_macro = longest_macro.max(block_after(&text, m.start()).matches('\n').count());
        }
    }
    let shared_struct = Regex::new(r"pub(\(crate\))?\s+struct\s+Shared\s*\{").unwrap();
    let field = Regex::new(r"^\s*(pub(\([^)]*\))?\s+)?\w+\s*:").unwrap();
    let impl_engine = Regex::new(r"(?m)^\s*impl(<[^>]*>)?\s+Engine\b").unwrap();
    let (mut shared, mut engine_files) = (0, 0);
    for text in files("crates/runtime/src") {
        if let Some(m) = shared_struct.find(&text) {
            shared = block_after(&text, m.start()).lines().filter(|l| field.is_match(l)).count();
        }
        engine_files += usize::from(impl_engine.is_match(&text));
    }
    let mut most_binaries = (0, String::new());
    for krate in std::fs::read_dir(root.join("crates")).expect("crates") {
        let tests = krate.expect("entry").path().join("tests");
        let Ok(entries) = std::fs::read_dir(&tests) else { continue };
        let n = entries
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs") || p.join("main.rs").is_file())
            .count();
        if n > most_binaries.0 {
            most_binaries = (n, tests.display().to_string());
        }
    }
    let server = root.join("crates/server/src");
    let mut server_files = Vec::new();
    rust_files(&server, &mut server_files);
    // A feature's routes take its handle: every file that still takes the store from the engine
    // is one not moved into a feature's folder yet.
    let store_callers = server_files
        .iter()
        .filter(|f| code_of(&std::fs::read_to_string(f).expect("readable")).contains(".store()"))
        .count();
    [
        (format!("methods of the widest store trait ({widest_name})"), widest),
        ("fields of runtime's Shared".into(), shared),
        ("runtime files with an `impl Engine` block".into(), engine_files),
        (format!("integration-test binaries of one crate ({})", most_binaries.1), most_binaries.0),
        ("lines of the longest macro_rules! body in the store".into(), longest_macro),
        ("server files that take the store from the engine".into(), store_callers),
    ]
}

/// The shared types grow no wider: each width is at most its ceiling, and a ceiling comes down
/// as features move into slices of their own (issue 62's targets: 40 methods, 15 fields, 3
/// files, 2 binaries, 150 lines, no server file that takes the store). Lower a ceiling when a
/// change narrows its width; never raise one: give the new feature its own folder and handle
/// instead.
#[test]
fn the_shared_types_grow_no_wider() {
    const CEILINGS: [usize; 6] = [19, 15, 3, 2, 139, 0];
    let found = widths(&workspace());
    let wider: Vec<String> = found
        .iter()
        .zip(CEILINGS)
        .filter(|((_, n), most)| n > most)
        .map(|((what, n), most)| format!("{what}: {n}, more than {most}"))
        .collect();
    assert!(wider.is_empty(), "wider than allowed (issue 62; docs/architecture.md):\n{}", wider.join("\n"));
    for ((what, n), most) in found.iter().zip(CEILINGS) {
        eprintln!("{what}: {n} (ceiling {most})");
    }
}

/// The tests' sleeps that wait without saying why (issue 62): a `sleep(` outside a polling loop
/// (`loop`, `while`, `for`) whose line and the line before it hold no comment. Such a wait is a
/// race: wait on the condition (`support::wait_until`), watch what must not happen
/// (`support::stays`), or say in a comment why time itself is what is waited on.
fn bare_sleeps(root: &Path) -> Vec<String> {
    let string = Regex::new(r#""(\\.|[^"\\])*""#).unwrap();
    let token = Regex::new(r"\b(loop|while|for)\b|[{}()]").unwrap();
    let mut files = Vec::new();
    for krate in std::fs::read_dir(root.join("crates")).expect("crates") {
        let krate = krate.expect("entry").path();
        if krate.join("tests").is_dir() {
            rust_files(&krate.join("tests"), &mut files);
        }
        let mut sources = Vec::new();
        rust_files(&krate.join("src"), &mut sources);
        files.extend(sources.into_iter().filter(|f| f.ends_with("tests.rs")));
    }
    let mut bare = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let lines: Vec<&str> = text.lines().collect();
        // Open braces (whether each is a loop's body), open parentheses, and the parenthesis
        // depth of a loop keyword whose body has not opened yet.
        let (mut open, mut parens, mut pending): (Vec<bool>, usize, Option<usize>) = (Vec::new(), 0, None);
        for (i, line) in lines.iter().enumerate() {
            let (code, commented) = line.split_once("//").map_or((*line, false), |(c, _)| (c, true));
            let code = string.replace_all(code, "\"\"");
            let said = commented || i > 0 && lines[i - 1].trim_start().starts_with("//");
            let python = code.contains("time.sleep(");
            if code.contains("sleep(") && !code.contains("fn ") && !python && !said && !open.iter().any(|l| *l) {
                bare.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
            for m in token.find_iter(&code) {
                match m.as_str() {
                    "(" => parens += 1,
                    ")" => parens = parens.saturating_sub(1),
                    "{" => open.push(pending.take_if(|at| *at == parens).is_some()),
                    "}" => drop(open.pop()),
                    _ => pending = Some(parens),
                }
            }
        }
    }
    bare
}

#[test]
fn tests_wait_on_conditions_not_bare_sleeps() {
    let bare = bare_sleeps(&workspace());
    assert!(bare.is_empty(), "sleeps that wait without saying why (see `bare_sleeps`):\n{}", bare.join("\n"));
}
