//! Loading a spec: every `*.tf` and `*.hcl` file of a directory parsed with hcl-edit, spans kept,
//! and sorted into the blocks Trustform knows. Problems become diagnostics; loading never stops
//! at the first one.

use crate::addr::{Mode, ResourceId};
use crate::types::Type;
use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block as HclBlock, BlockLabel, Body as HclBody, Structure};
use hcl_edit::Span as _;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use trustform_diag::{Diagnostic, Diagnostics, FileId, SourceMap, Span};

mod blocks;
pub use blocks::{Check, Condition, Conditions, Import, Moved, Removed};

/// An expression and the file it came from, so every evaluation error can point at it.
#[derive(Debug, Clone)]
pub struct Expr {
    pub expr: Expression,
    pub file: FileId,
}

/// A block body, split into attributes and nested blocks (in source order).
#[derive(Debug, Clone, Default)]
pub struct Body {
    pub attributes: BTreeMap<String, Attr>,
    pub blocks: Vec<NestedBody>,
    pub file: Option<FileId>,
    pub range: Range<usize>,
}

#[derive(Debug, Clone)]
pub struct Attr {
    pub name: String,
    pub expr: Expr,
    /// Range of the whole `name = value` line.
    pub range: Range<usize>,
}

#[derive(Debug, Clone)]
pub struct NestedBody {
    pub kind: String,
    pub labels: Vec<String>,
    pub body: Body,
    pub range: Range<usize>,
}

/// `variable "name" { ... }`
#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub ty: Option<Type>,
    pub default: Option<Expr>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
    pub validations: Vec<Validation>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Validation {
    pub condition: Expr,
    pub error_message: Expr,
    pub span: Span,
}

/// `locals { name = expr }`, one entry per name.
#[derive(Debug, Clone)]
pub struct Local {
    pub name: String,
    pub expr: Expr,
    pub span: Span,
}

/// `lifecycle { ... }` of a resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifecycle {
    pub prevent_destroy: bool,
    pub create_before_destroy: bool,
    /// Attribute names whose changes are ignored; `all` ignores every attribute.
    pub ignore_changes: IgnoreChanges,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum IgnoreChanges {
    #[default]
    None,
    Attributes(Vec<String>),
    All,
}

/// The repetition of a resource block.
#[derive(Debug, Clone)]
pub enum Repetition {
    Single,
    Count(Expr),
    ForEach(Expr),
}

/// A `resource` or `data` block.
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: ResourceId,
    pub body: Body,
    pub repetition: Repetition,
    /// Explicit `depends_on` entries with their spans.
    pub depends_on: Vec<(ResourceId, Span)>,
    /// Module calls named in `depends_on`: everything in them comes first.
    pub depends_on_modules: Vec<(String, Span)>,
    pub lifecycle: Lifecycle,
    /// The `provider` meta-argument (`aws` or `aws.bedrock`), when given; otherwise the type
    /// prefix decides.
    pub provider: Option<String>,
    /// `precondition` and `postcondition` blocks of its `lifecycle`.
    pub conditions: Conditions,
    /// The block header (`resource "aws_iam_role" "gateway"`), where diagnostics point.
    pub span: Span,
}

impl Resource {
    /// The provider's local name: `aws` for `provider = aws.bedrock` too.
    pub fn provider_name(&self) -> &str {
        let key = self.provider_key();
        key.split('.').next().unwrap_or(key)
    }

    /// The provider configuration it uses in its module: `aws`, or `aws.bedrock`.
    pub fn provider_key(&self) -> &str {
        self.provider.as_deref().unwrap_or_else(|| self.id.provider_name())
    }
}

/// `output "name" { value = ... }`
#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub value: Expr,
    pub sensitive: bool,
    pub description: Option<String>,
    pub depends_on: Vec<(ResourceId, Span)>,
    pub preconditions: Vec<Condition>,
    pub depends_on_modules: Vec<(String, Span)>,
    pub span: Span,
}

/// `provider "aws" { ... }`, or an additional configuration with `alias = "bedrock"`.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub name: String,
    pub alias: Option<String>,
    pub body: Body,
    pub span: Span,
}

/// `module "NAME" { source = "./path" ... }`: a call of the module in a local directory, with its
/// own configuration loaded once (Terraform's `internal/configs` `ModuleCall`; only local paths,
/// <https://developer.hashicorp.com/terraform/language/modules/sources#local-paths>).
#[derive(Debug, Clone)]
pub struct ModuleCall {
    pub name: String,
    /// `source` as written.
    pub source: String,
    /// The input variables it passes: every argument that is not a meta-argument.
    pub arguments: Body,
    pub repetition: Repetition,
    pub depends_on: Vec<(ResourceId, Span)>,
    /// Module calls named in `depends_on` (`module.other`).
    pub depends_on_modules: Vec<(String, Span)>,
    /// `providers = { aws = aws.bedrock }`: the child's provider key, the caller's, and where.
    pub providers: Vec<(String, String, Span)>,
    pub span: Span,
    /// The called module's own configuration; its `dir` is the module's directory.
    pub module: Box<Config>,
}

/// `trustform { backend "local" { path = "..." } outputs { env_file = "...", format = "..." }
/// encryption { ... } }`
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub backend: Option<BackendConfig>,
    pub outputs: Option<Body>,
    /// The `encryption` block as written: key providers, methods, and the `state` and `plan`
    /// blocks that use them. The CLI interprets it; see `trustform_state::encryption`.
    pub encryption: Option<Body>,
}

#[derive(Debug, Clone)]
pub struct BackendConfig {
    pub kind: String,
    pub body: Body,
    pub span: Span,
}

/// A whole spec: every file of a directory.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub dir: PathBuf,
    pub sources: SourceMap,
    pub settings: Settings,
    pub providers: BTreeMap<String, ProviderConfig>,
    pub variables: BTreeMap<String, Variable>,
    pub locals: BTreeMap<String, Local>,
    pub resources: BTreeMap<ResourceId, Resource>,
    pub outputs: BTreeMap<String, Output>,
    /// `moved` blocks, in source order.
    pub moved: Vec<Moved>,
    /// `removed` blocks, in source order.
    pub removed: Vec<Removed>,
    /// `check` blocks, in source order.
    pub checks: Vec<Check>,
    /// `import` blocks, in source order.
    pub imports: Vec<Import>,
    pub module_calls: BTreeMap<String, ModuleCall>,
}

/// A module call named in `depends_on` (`module.NAME`), and where.
pub type ModuleDependency = (String, Span);

/// How deep module calls may nest: a module that calls itself (directly or through others) is
/// reported as a cycle long before, so this only bounds a very deep legitimate tree.
const MAX_MODULE_DEPTH: usize = 16;

/// The key a provider configuration is known by: `aws`, or `aws.bedrock` for an alias.
pub fn provider_key(name: &str, alias: Option<&str>) -> String {
    match alias {
        Some(alias) => format!("{name}.{alias}"),
        None => name.to_owned(),
    }
}

impl Config {
    /// The `check` block that declares the data source `id` inside it, if one does.
    pub fn check_of(&self, id: &ResourceId) -> Option<&Check> {
        self.checks.iter().find(|c| c.data.contains(id))
    }

    /// The span of an expression, for diagnostics.
    pub fn span(&self, expr: &Expr) -> Option<Span> {
        expr.expr.span().map(|r| self.sources.span(expr.file, r))
    }

    pub fn body_span(&self, body: &Body) -> Option<Span> {
        body.file.map(|f| self.sources.span(f, body.range.clone()))
    }

    pub fn attr_span(&self, body: &Body, attr: &Attr) -> Option<Span> {
        body.file.map(|f| self.sources.span(f, attr.range.clone()))
    }

    /// The configuration of the module at `path` (call names from the root); `self` for `[]`.
    pub fn module(&self, path: &[impl AsRef<str>]) -> Option<&Config> {
        let mut config = self;
        for name in path {
            config = &config.module_calls.get(name.as_ref())?.module;
        }
        Some(config)
    }

    /// The resource block `id` of the module at `path`.
    pub fn resource_in(&self, path: &[impl AsRef<str>], id: &ResourceId) -> Option<&Resource> {
        self.module(path)?.resources.get(id)
    }

    /// Every source file of the module tree, the root's first and each path once: what
    /// diagnostics quote from, and what a saved plan's digest covers.
    pub fn all_sources(&self) -> SourceMap {
        let mut all = self.sources.clone();
        for (_, module) in self.modules().into_iter().skip(1) {
            for file in module.sources.files() {
                if all.by_path(&file.path).is_none() {
                    all.add(file.path.clone(), file.text.clone());
                }
            }
        }
        all
    }

    /// Every module of the tree with its path of call names, the root first, parents before
    /// their children.
    pub fn modules(&self) -> Vec<(Vec<String>, &Config)> {
        let mut out = vec![(Vec::new(), self)];
        let mut i = 0;
        while i < out.len() {
            let (path, config) = (out[i].0.clone(), out[i].1);
            for (name, call) in &config.module_calls {
                let mut child = path.clone();
                child.push(name.clone());
                out.push((child, &call.module));
            }
            i += 1;
        }
        out
    }
}

/// Loads every `*.tf` and `*.hcl` file of `dir` (not recursing), in name order, and the modules
/// it calls, each once per call.
pub fn load_dir(dir: &FsPath) -> (Config, Diagnostics) {
    let mut diags = Diagnostics::new();
    let (mut config, more) = load_one_dir(dir);
    diags.extend(more);
    let root = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    load_module_calls(&mut config, &mut vec![root], &mut diags);
    (config, diags)
}

/// Loads the module of every call of `config`, recursively. `stack` holds the directories of
/// the calls being loaded, to report a module that calls itself.
fn load_module_calls(config: &mut Config, stack: &mut Vec<PathBuf>, diags: &mut Diagnostics) {
    let dir = config.dir.clone();
    for call in config.module_calls.values_mut() {
        let child_dir = join_lexically(&dir, &call.source);
        let canonical = match std::fs::canonicalize(&child_dir) {
            Ok(path) if path.is_dir() => path,
            _ => {
                diags.push(
                    Diagnostic::error(
                        "TF0133",
                        "Module not found",
                        format!(
                            "The module \"{}\" has source = \"{}\", but {} is not a directory. Fix the path; it is relative to the directory of the calling module.",
                            call.name,
                            call.source,
                            child_dir.display()
                        ),
                    )
                    .with_span(call.span.clone()),
                );
                continue;
            }
        };
        if stack.contains(&canonical) || stack.len() > MAX_MODULE_DEPTH {
            diags.push(
                Diagnostic::error(
                    "TF0134",
                    "Module calls itself",
                    format!(
                        "The module \"{}\" (source = \"{}\") is already being loaded by one of its callers, so loading it would never end. Remove the call from the module it leads back to.",
                        call.name, call.source
                    ),
                )
                .with_span(call.span.clone()),
            );
            continue;
        }
        let (mut module, more) = load_one_dir(&child_dir);
        diags.extend(more);
        diags.extend(root_only_blocks(&module, &call.name));
        stack.push(canonical);
        load_module_calls(&mut module, stack, diags);
        stack.pop();
        *call.module = module;
    }
}

/// Blocks a called module may not hold here. `import` blocks belong to the root module in
/// Terraform too (internal/configs/config_build.go: "Import blocks are only allowed in the root
/// module"). Terraform does accept `moved`, `removed` and `check` blocks in a called module;
/// Trustform runs them only in the root module, so it says so rather than ignore them.
fn root_only_blocks(module: &Config, call: &str) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for import in &module.imports {
        diags.push(
            Diagnostic::error(
                "TF0141",
                "Invalid import configuration",
                format!("An import block was detected in module \"{call}\". Import blocks are only allowed in the root module: move it there, with the module's address in to (to = module.{call}.TYPE.NAME)."),
            )
            .with_span(import.span.clone()),
        );
    }
    let spans = module
        .moved
        .iter()
        .map(|m| ("moved", m.span.clone()))
        .chain(module.removed.iter().map(|r| ("removed", r.span.clone())))
        .chain(module.checks.iter().map(|c| ("check", c.span.clone())));
    for (kind, span) in spans {
        diags.push(
            Diagnostic::error(
                "TF0142",
                "Block not supported in a called module",
                format!("Trustform runs {kind} blocks only in the root module, and this one is in module \"{call}\". Move it to the root module and name the module's objects by their full address (module.{call}.TYPE.NAME), or, for a check, assert on the module's outputs."),
            )
            .with_span(span),
        );
    }
    diags
}

/// `dir` joined with a relative `source`, `.` and `..` resolved in the text (as Terraform shows
/// module paths), so diagnostics name `modules/gw/main.tf` rather than `./../x/../gw/main.tf`.
fn join_lexically(dir: &FsPath, source: &str) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in dir.join(source).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let last = out.components().next_back();
                if matches!(last, Some(Component::Normal(_))) {
                    out.pop();
                } else if !matches!(last, Some(Component::RootDir)) {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn load_one_dir(dir: &FsPath) -> (Config, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut files = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries.flatten() {
                let path = entry.path();
                let is_spec = matches!(path.extension().and_then(|e| e.to_str()), Some("tf" | "hcl"));
                if is_spec && path.is_file() {
                    files.push(path);
                }
            }
        }
        Err(e) => {
            diags.push(Diagnostic::error(
                "TF0001",
                "Cannot read the configuration directory",
                format!(
                    "Reading {}: {e}. Run trustform in the directory of your spec, or pass --chdir DIR.",
                    dir.display()
                ),
            ));
            return (Config { dir: dir.to_owned(), ..Config::default() }, diags);
        }
    }
    files.sort();
    let mut sources = Vec::new();
    for path in files {
        match std::fs::read(&path).map(String::from_utf8) {
            Ok(Ok(text)) => sources.push((display_path(dir, &path), text)),
            Ok(Err(not_utf8)) => {
                diags.push(not_utf8_error(&display_path(dir, &path), not_utf8.utf8_error(), not_utf8.as_bytes()))
            }
            Err(e) => diags.push(Diagnostic::error(
                "TF0001",
                "Cannot read a configuration file",
                format!("Reading {}: {e}. Check the file's permissions and that it is UTF-8 text.", path.display()),
            )),
        }
    }
    if sources.is_empty() && !diags.has_errors() {
        diags.push(Diagnostic::error(
            "TF0002",
            "No configuration files",
            format!(
                "The directory {} holds no *.tf or *.hcl files. Run trustform in the directory of your spec, or pass --chdir DIR.",
                dir.display()
            ),
        ));
    }
    let (mut config, more) = load_sources(sources);
    config.dir = dir.to_owned();
    diags.extend(more);
    (config, diags)
}

/// A file that is not UTF-8, pointing at its first byte that is not.
fn not_utf8_error(path: &str, error: std::str::Utf8Error, bytes: &[u8]) -> Diagnostic {
    let at = error.valid_up_to();
    let valid = bytes.get(..at).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or_default();
    let mut span = trustform_diag::SourceFile::new(path, valid).span(at..at);
    span.end.byte += 1;
    span.end.column += 1;
    Diagnostic::error(
        "TF0001",
        "Cannot read a configuration file",
        format!(
            "{path} is not UTF-8 text: the byte 0x{:02x} at line {}, column {} does not start a UTF-8 character. Save the file as UTF-8 (a copy from a Latin-1 or Windows-1252 editor is the usual cause).",
            bytes.get(at).copied().unwrap_or_default(),
            span.start.line,
            span.start.column
        ),
    )
    .with_span(span)
}

fn display_path(dir: &FsPath, path: &FsPath) -> String {
    let shown = if dir == FsPath::new(".") || dir.as_os_str().is_empty() {
        path.strip_prefix(dir).unwrap_or(path)
    } else {
        path
    };
    shown.display().to_string()
}

/// Parses and sorts already-read files: `(display path, text)` pairs.
pub fn load_sources(files: impl IntoIterator<Item = (String, String)>) -> (Config, Diagnostics) {
    let mut loader = Loader { config: Config::default(), diags: Diagnostics::new() };
    for (path, text) in files {
        let text: Arc<str> = text.into();
        let file = loader.config.sources.add(path, text.clone());
        match hcl_edit::parser::parse_body(&text) {
            Ok(body) => loader.top_level(file, &body),
            Err(e) => loader.diags.push(parse_error(&loader.config.sources, file, &e)),
        }
    }
    loader.check_refactoring();
    (loader.config, loader.diags)
}

fn parse_error(sources: &SourceMap, file: FileId, error: &hcl_edit::parser::Error) -> Diagnostic {
    let loc = error.location();
    let span = sources.span(file, loc.offset()..loc.offset());
    let message = error.message();
    Diagnostic::error(
        "TF0100",
        "Invalid HCL syntax",
        format!(
            "The file could not be parsed: {message}. Fix the syntax at that position; every block needs a closing '}}' and every string a closing '\"'."
        ),
    )
    .with_span(span)
}

struct Loader {
    config: Config,
    diags: Diagnostics,
}

impl Loader {
    fn span(&self, file: FileId, range: Option<Range<usize>>) -> Span {
        self.config.sources.span(file, range.unwrap_or(0..0))
    }

    fn top_level(&mut self, file: FileId, body: &HclBody) {
        for structure in body.iter() {
            match structure {
                Structure::Attribute(attr) => {
                    let span = self.span(file, attr.span());
                    self.diags.push(
                        Diagnostic::error(
                            "TF0101",
                            "Unexpected attribute",
                            format!(
                                "An attribute named \"{}\" is not expected at the top level of a spec. Put it inside a block (a resource, locals or a variable default).",
                                attr.key.as_str()
                            ),
                        )
                        .with_span(span),
                    );
                }
                Structure::Block(block) => self.top_block(file, block),
            }
        }
    }

    fn top_block(&mut self, file: FileId, block: &HclBlock) {
        let labels: Vec<String> = block.labels.iter().map(|l| label_text(l).to_owned()).collect();
        let span = self.span(file, header_range(block));
        let kind = block.ident.as_str();
        let expected = match kind {
            "resource" | "data" => 2,
            "variable" | "output" | "provider" | "module" | "check" => 1,
            "locals" | "trustform" | "terraform" | "moved" | "removed" | "import" => 0,
            _ => {
                self.diags.push(
                    Diagnostic::error(
                        "TF0102",
                        "Unsupported block type",
                        format!(
                            "Blocks of type \"{kind}\" are not expected here. The top level takes trustform, provider, variable, locals, data, resource, module, output, import, moved, removed and check blocks."
                        ),
                    )
                    .with_span(span),
                );
                return;
            }
        };
        if labels.len() != expected {
            self.diags.push(
                Diagnostic::error(
                    "TF0103",
                    "Wrong number of block labels",
                    format!(
                        "A {kind} block takes {expected} label(s) but this one has {}. Write it as {}.",
                        labels.len(),
                        match kind {
                            "resource" => "resource \"TYPE\" \"NAME\" { ... }",
                            "data" => "data \"TYPE\" \"NAME\" { ... }",
                            "variable" => "variable \"NAME\" { ... }",
                            "output" => "output \"NAME\" { ... }",
                            "provider" => "provider \"NAME\" { ... }",
                            "check" => "check \"NAME\" { ... }",
                            "moved" => "moved { from = ... to = ... }",
                            "removed" => "removed { from = ... }",
                            "import" => "import { to = ... id = \"...\" }",
                            "module" => "module \"NAME\" { source = \"./path\" }",
                            _ => "locals { ... }",
                        }
                    ),
                )
                .with_span(span),
            );
            return;
        }
        let body = self.body(file, &block.body, block.span());
        match kind {
            "resource" | "data" => self.resource(kind, &labels, body, span),
            "variable" => self.variable(&labels[0], body, span),
            "output" => self.output(&labels[0], body, span),
            "provider" => self.provider(&labels[0], body, span),
            "module" => self.module_call(&labels[0], body, span),
            "locals" => self.locals(body),
            "moved" => self.moved(body, span),
            "removed" => self.removed(body, span),
            "import" => self.import(body, span),
            "check" => self.check(&labels[0], body, span),
            _ => self.settings(body),
        }
    }

    fn body(&mut self, file: FileId, body: &HclBody, range: Option<Range<usize>>) -> Body {
        let mut out = Body { file: Some(file), range: range.unwrap_or(0..0), ..Body::default() };
        for structure in body.iter() {
            match structure {
                Structure::Attribute(attr) => {
                    let name = attr.key.as_str().to_owned();
                    let range = attr.span().unwrap_or(0..0);
                    if let Some(previous) = out.attributes.get(&name) {
                        let first = self.config.sources.span(file, previous.range.clone());
                        self.diags.push(
                            Diagnostic::error(
                                "TF0104",
                                "Duplicate argument",
                                format!(
                                    "The argument \"{name}\" was already set at {first}. Each argument may be set only once; remove one of them."
                                ),
                            )
                            .with_span(self.config.sources.span(file, range)),
                        );
                        continue;
                    }
                    let expr = Expr { expr: attr.value.clone(), file };
                    out.attributes.insert(name.clone(), Attr { name, expr, range });
                }
                Structure::Block(block) => {
                    let nested = self.body(file, &block.body, block.span());
                    out.blocks.push(NestedBody {
                        kind: block.ident.as_str().to_owned(),
                        labels: block.labels.iter().map(|l| label_text(l).to_owned()).collect(),
                        body: nested,
                        range: header_range(block).unwrap_or(0..0),
                    });
                }
            }
        }
        out
    }

    fn error_at(&mut self, body: &Body, range: Range<usize>, code: &'static str, summary: &str, detail: String) {
        let span = body.file.map(|f| self.config.sources.span(f, range));
        self.diags.push(Diagnostic::error(code, summary, detail).with_span(span));
    }

    fn resource(&mut self, kind: &str, labels: &[String], mut body: Body, span: Span) {
        let mode = if kind == "data" { Mode::Data } else { Mode::Managed };
        let (type_name, name) = (&labels[0], &labels[1]);
        for (label, what) in [(type_name, "type"), (name, "name")] {
            if !crate::is_identifier(label) {
                self.diags.push(
                    Diagnostic::error(
                        "TF0105",
                        "Invalid resource label",
                        format!(
                            "The {kind} {what} \"{label}\" is not a valid identifier. Use letters, digits, underscores and dashes, starting with a letter or underscore."
                        ),
                    )
                    .with_span(span.clone()),
                );
                return;
            }
        }
        let id = ResourceId { mode, type_name: type_name.clone(), name: name.clone() };
        if let Some(existing) = self.config.resources.get(&id) {
            let first = existing.span.clone();
            self.diags.push(
                Diagnostic::error(
                    "TF0106",
                    "Duplicate resource",
                    format!("{id} was already declared at {first}. Resource names must be unique per type; rename one of them."),
                )
                .with_span(span)
                .with_address(&id),
            );
            return;
        }
        let count = body.attributes.remove("count");
        let for_each = body.attributes.remove("for_each");
        let repetition = match (count, for_each) {
            (Some(count), Some(_)) => {
                self.error_at(
                    &body,
                    count.range,
                    "TF0107",
                    "Invalid combination of \"count\" and \"for_each\"",
                    "The \"count\" and \"for_each\" meta-arguments are mutually exclusive; only one may be used per resource. Remove one of them.".into(),
                );
                Repetition::Single
            }
            (Some(count), None) => Repetition::Count(count.expr),
            (None, Some(for_each)) => Repetition::ForEach(for_each.expr),
            (None, None) => Repetition::Single,
        };
        let (depends_on, depends_on_modules) = match body.attributes.remove("depends_on") {
            Some(attr) => self.depends_on(&attr),
            None => Default::default(),
        };
        let provider = body.attributes.remove("provider").and_then(|attr| match static_traversal(&attr.expr.expr) {
            Some(parts) if parts.len() == 1 || parts.len() == 2 => Some(parts.join(".")),
            _ => {
                self.error_at(
                    &body,
                    attr.range.clone(),
                    "TF0108",
                    "Invalid provider reference",
                    "The provider meta-argument takes a provider name or NAME.ALIAS, like provider = aws or provider = aws.bedrock, without quotes.".into(),
                );
                None
            }
        });
        let mut lifecycle = Lifecycle::default();
        let mut conditions = Conditions::default();
        let mut kept = Vec::new();
        for nested in std::mem::take(&mut body.blocks) {
            if nested.kind == "lifecycle" {
                lifecycle = self.lifecycle(&nested.body);
                conditions = self.lifecycle_conditions(&nested.body, mode);
            } else {
                kept.push(nested);
            }
        }
        body.blocks = kept;
        self.config.resources.insert(
            id.clone(),
            Resource { id, body, repetition, depends_on, depends_on_modules, lifecycle, provider, conditions, span },
        );
    }

    fn module_call(&mut self, name: &str, mut body: Body, span: Span) {
        if !crate::is_identifier(name) {
            self.diags.push(
                Diagnostic::error(
                    "TF0105",
                    "Invalid module name",
                    format!("The module name \"{name}\" is not a valid identifier. Use letters, digits, underscores and dashes, starting with a letter or underscore."),
                )
                .with_span(span),
            );
            return;
        }
        if let Some(existing) = self.config.module_calls.get(name) {
            let first = existing.span.clone();
            self.diags.push(
                Diagnostic::error(
                    "TF0139",
                    "Duplicate module call",
                    format!("A module named \"{name}\" was already called at {first}. Module names must be unique in a module; rename one of them."),
                )
                .with_span(span),
            );
            return;
        }
        let Some(source_attr) = body.attributes.remove("source") else {
            self.diags.push(
                Diagnostic::error(
                    "TF0116",
                    "Missing required argument",
                    format!("The module \"{name}\" has no source. Add source = \"./path/to/module\" (a directory relative to this one)."),
                )
                .with_span(span),
            );
            return;
        };
        let source_span = body.file.map(|f| self.config.sources.span(f, source_attr.range.clone()));
        let Some(source) = static_string(&source_attr.expr.expr) else {
            self.diags.push(
                Diagnostic::error("TF0132", "Invalid module source", "The source of a module must be a literal string, like source = \"./modules/gateway\"; it cannot use variables or functions.")
                    .with_span(source_span),
            );
            return;
        };
        // Terraform tells a local path by its "./" or "../" prefix
        // (internal/addrs/module_source.go, `isModuleSourceLocal`); anything else is fetched.
        if !(source.starts_with("./") || source.starts_with("../")) {
            self.diags.push(
                Diagnostic::error(
                    "TF0132",
                    "Unsupported module source",
                    format!("The module \"{name}\" has source = \"{source}\", which is not a local path. Trustform loads only modules in local directories, written with a leading ./ or ../ (like \"./modules/{name}\"); download the module into the spec and point source at it."),
                )
                .with_span(source_span),
            );
            return;
        }
        if let Some(version) = body.attributes.remove("version") {
            self.error_at(&body, version.range, "TF0135", "Invalid argument for a local module", "A module from a local path has no version: remove version, or copy the version you want into the directory.".into());
        }
        let count = body.attributes.remove("count");
        let for_each = body.attributes.remove("for_each");
        let repetition = match (count, for_each) {
            (Some(count), Some(_)) => {
                self.error_at(&body, count.range, "TF0107", "Invalid combination of \"count\" and \"for_each\"", "The \"count\" and \"for_each\" meta-arguments are mutually exclusive; only one may be used per module call. Remove one of them.".into());
                Repetition::Single
            }
            (Some(count), None) => Repetition::Count(count.expr),
            (None, Some(for_each)) => Repetition::ForEach(for_each.expr),
            (None, None) => Repetition::Single,
        };
        let (depends_on, depends_on_modules) = match body.attributes.remove("depends_on") {
            Some(attr) => self.depends_on(&attr),
            None => Default::default(),
        };
        let providers = match body.attributes.remove("providers") {
            Some(attr) => self.providers_map(&attr),
            None => Vec::new(),
        };
        for nested in std::mem::take(&mut body.blocks) {
            let span = body.file.map(|f| self.config.sources.span(f, nested.range.clone()));
            self.diags.push(
                Diagnostic::error("TF0113", "Unsupported block", format!("A module block takes only arguments (its input variables and source, count, for_each, depends_on, providers); a \"{}\" block is not one of them.", nested.kind))
                    .with_span(span),
            );
        }
        let module = Box::new(Config::default());
        self.config.module_calls.insert(
            name.to_owned(),
            ModuleCall {
                name: name.to_owned(),
                source,
                arguments: body,
                repetition,
                depends_on,
                depends_on_modules,
                providers,
                span,
                module,
            },
        );
    }

    /// `providers = { aws = aws.bedrock, "aws.east" = aws }`
    fn providers_map(&mut self, attr: &Attr) -> Vec<(String, String, Span)> {
        let span = self.span(attr.expr.file, Some(attr.range.clone()));
        let invalid = |this: &mut Self, span: Span| {
            this.diags.push(
                Diagnostic::error("TF0138", "Invalid providers argument", "providers maps the module's provider names to this module's configurations, like providers = { aws = aws.bedrock }, without quotes around the values.")
                    .with_span(span),
            );
        };
        let Expression::Object(object) = &attr.expr.expr else {
            invalid(self, span);
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in object.iter() {
            let child = match key {
                hcl_edit::expr::ObjectKey::Ident(i) => Some(i.as_str().to_owned()),
                hcl_edit::expr::ObjectKey::Expression(e) => {
                    static_traversal(e).map(|p| p.join(".")).or_else(|| static_string(e))
                }
            };
            let parent = static_traversal(value.expr()).filter(|p| p.len() <= 2).map(|p| p.join("."));
            let item_span = self.span(attr.expr.file, value.expr().span());
            match (child, parent) {
                (Some(child), Some(parent)) => out.push((child, parent, item_span)),
                _ => invalid(self, item_span),
            }
        }
        out
    }

    /// The resources and the module calls a `depends_on` names.
    fn depends_on(&mut self, attr: &Attr) -> (Vec<(ResourceId, Span)>, Vec<ModuleDependency>) {
        let items = match &attr.expr.expr {
            Expression::Array(array) => array.iter().collect::<Vec<_>>(),
            _ => {
                let span = self.span(attr.expr.file, Some(attr.range.clone()));
                self.diags.push(
                    Diagnostic::error(
                        "TF0109",
                        "Invalid depends_on",
                        "depends_on takes a list of resource references, like depends_on = [aws_iam_role.gateway].",
                    )
                    .with_span(span),
                );
                return Default::default();
            }
        };
        let mut out = Vec::new();
        let mut modules = Vec::new();
        for item in items {
            let span = self.span(attr.expr.file, item.span());
            match static_traversal(item).as_deref() {
                Some([module, name]) if module == "module" => modules.push((name.clone(), span)),
                Some([data, t, n, ..]) if data == "data" => out.push((ResourceId::data(t, n), span)),
                Some([t, n, ..]) if t != "var" && t != "local" => out.push((ResourceId::managed(t, n), span)),
                _ => self.diags.push(
                    Diagnostic::error(
                        "TF0109",
                        "Invalid depends_on",
                        "Each depends_on entry must be a resource reference, like aws_iam_role.gateway or data.google_project.this, without quotes.",
                    )
                    .with_span(span),
                ),
            }
        }
        (out, modules)
    }

    fn lifecycle(&mut self, body: &Body) -> Lifecycle {
        let mut lifecycle = Lifecycle::default();
        for (name, attr) in &body.attributes {
            match name.as_str() {
                "prevent_destroy" | "create_before_destroy" => match static_bool(&attr.expr.expr) {
                    Some(b) if name == "prevent_destroy" => lifecycle.prevent_destroy = b,
                    Some(b) => lifecycle.create_before_destroy = b,
                    None => self.error_at(body, attr.range.clone(), "TF0110", "Invalid lifecycle argument", format!("{name} must be the literal true or false.")),
                },
                "ignore_changes" => match &attr.expr.expr {
                    Expression::Variable(v) if v.as_str() == "all" => lifecycle.ignore_changes = IgnoreChanges::All,
                    Expression::Array(array) => {
                        let mut names = Vec::new();
                        for item in array.iter() {
                            match static_traversal(item) {
                                Some(parts) if parts.len() == 1 => names.push(parts[0].clone()),
                                _ => match item {
                                    Expression::String(s) => names.push(s.as_str().to_owned()),
                                    _ => self.error_at(body, attr.range.clone(), "TF0110", "Invalid lifecycle argument", "ignore_changes takes all or a list of top-level attribute names, like ignore_changes = [tags].".into()),
                                },
                            }
                        }
                        lifecycle.ignore_changes = IgnoreChanges::Attributes(names);
                    }
                    _ => self.error_at(body, attr.range.clone(), "TF0110", "Invalid lifecycle argument", "ignore_changes takes all or a list of attribute names, like ignore_changes = [tags].".into()),
                },
                other => self.error_at(
                    body,
                    attr.range.clone(),
                    "TF0110",
                    "Invalid lifecycle argument",
                    format!("\"{other}\" is not a lifecycle argument. The lifecycle block takes prevent_destroy, create_before_destroy and ignore_changes."),
                ),
            }
        }
        lifecycle
    }

    fn variable(&mut self, name: &str, mut body: Body, span: Span) {
        if self.config.variables.contains_key(name) {
            self.diags.push(
                Diagnostic::error(
                    "TF0111",
                    "Duplicate variable",
                    format!("The variable \"{name}\" is declared twice. Remove or rename one declaration."),
                )
                .with_span(span),
            );
            return;
        }
        let ty = body.attributes.remove("type").and_then(|attr| match parse_type(&attr.expr.expr) {
            Ok(ty) => Some(ty),
            Err(msg) => {
                self.error_at(&body, attr.range.clone(), "TF0112", "Invalid type constraint", format!("{msg}. Type constraints look like string, number, bool, list(string), map(string), set(string) or object({{ name = string }})."));
                None
            }
        });
        let description = body.attributes.remove("description").and_then(|a| static_string(&a.expr.expr));
        let sensitive = body.attributes.remove("sensitive").is_some_and(|a| static_bool(&a.expr.expr) == Some(true));
        let nullable = body.attributes.remove("nullable").is_none_or(|a| static_bool(&a.expr.expr) != Some(false));
        let default = body.attributes.remove("default").map(|a| a.expr);
        for (other, attr) in std::mem::take(&mut body.attributes) {
            self.error_at(&body, attr.range, "TF0113", "Unsupported argument", format!("A variable block takes type, default, description, sensitive, nullable and validation; \"{other}\" is not one of them."));
        }
        let mut validations = Vec::new();
        for nested in std::mem::take(&mut body.blocks) {
            if nested.kind != "validation" {
                self.error_at(
                    &body,
                    nested.range,
                    "TF0113",
                    "Unsupported block",
                    format!("A variable block takes validation blocks only; \"{}\" is not one.", nested.kind),
                );
                continue;
            }
            let mut vbody = nested.body;
            let span = self.span(vbody.file.unwrap_or(FileId(0)), Some(nested.range));
            match (vbody.attributes.remove("condition"), vbody.attributes.remove("error_message")) {
                (Some(condition), Some(error_message)) => {
                    validations.push(Validation { condition: condition.expr, error_message: error_message.expr, span })
                }
                _ => self.diags.push(
                    Diagnostic::error(
                        "TF0114",
                        "Incomplete validation",
                        "A validation block needs both condition and error_message.",
                    )
                    .with_span(span),
                ),
            }
        }
        self.config.variables.insert(
            name.to_owned(),
            Variable { name: name.to_owned(), ty, default, description, sensitive, nullable, validations, span },
        );
    }

    fn output(&mut self, name: &str, mut body: Body, span: Span) {
        if self.config.outputs.contains_key(name) {
            self.diags.push(
                Diagnostic::error(
                    "TF0115",
                    "Duplicate output",
                    format!("The output \"{name}\" is declared twice. Remove or rename one declaration."),
                )
                .with_span(span),
            );
            return;
        }
        let Some(value) = body.attributes.remove("value") else {
            self.diags.push(
                Diagnostic::error(
                    "TF0116",
                    "Missing required argument",
                    format!("The output \"{name}\" has no value. Add value = <expression>."),
                )
                .with_span(span),
            );
            return;
        };
        let sensitive = body.attributes.remove("sensitive").is_some_and(|a| static_bool(&a.expr.expr) == Some(true));
        let description = body.attributes.remove("description").and_then(|a| static_string(&a.expr.expr));
        let (depends_on, depends_on_modules) = match body.attributes.remove("depends_on") {
            Some(attr) => self.depends_on(&attr),
            None => Default::default(),
        };
        for (other, attr) in std::mem::take(&mut body.attributes) {
            self.error_at(&body, attr.range, "TF0113", "Unsupported argument", format!("An output block takes value, sensitive, description and depends_on; \"{other}\" is not one of them."));
        }
        let preconditions = self.output_conditions(&mut body);
        self.config.outputs.insert(
            name.to_owned(),
            Output {
                name: name.to_owned(),
                value: value.expr,
                sensitive,
                description,
                depends_on,
                preconditions,
                depends_on_modules,
                span,
            },
        );
    }

    /// A provider block, keyed `aws` or, with `alias = "bedrock"`, `aws.bedrock`
    /// (<https://developer.hashicorp.com/terraform/language/providers/configuration#alias-multiple-provider-configurations>).
    fn provider(&mut self, name: &str, mut body: Body, span: Span) {
        let alias = match body.attributes.remove("alias") {
            Some(attr) => match static_string(&attr.expr.expr).filter(|a| crate::is_identifier(a)) {
                Some(alias) => Some(alias),
                None => {
                    self.error_at(&body, attr.range, "TF0108", "Invalid provider alias", "alias takes a literal name, like alias = \"bedrock\", made of letters, digits, underscores and dashes.".into());
                    return;
                }
            },
            None => None,
        };
        let key = provider_key(name, alias.as_deref());
        if let Some(existing) = self.config.providers.get(&key) {
            let first = existing.span.clone();
            let detail = match &alias {
                Some(alias) => format!("The provider \"{name}\" with alias \"{alias}\" is already configured at {first}. Give this block another alias, or merge the two."),
                None => format!("The provider \"{name}\" is already configured at {first} without an alias. Merge the two blocks, or add alias = \"NAME\" to one and refer to it as provider = {name}.NAME."),
            };
            self.diags.push(Diagnostic::error("TF0117", "Duplicate provider configuration", detail).with_span(span));
            return;
        }
        self.config.providers.insert(key, ProviderConfig { name: name.to_owned(), alias, body, span });
    }

    fn locals(&mut self, body: Body) {
        for (name, attr) in body.attributes {
            let span = self.span(attr.expr.file, Some(attr.range.clone()));
            if let Some(existing) = self.config.locals.get(&name) {
                let first = existing.span.clone();
                self.diags.push(
                    Diagnostic::error(
                        "TF0118",
                        "Duplicate local value",
                        format!(
                            "local.{name} was already defined at {first}. Each local value may be defined only once."
                        ),
                    )
                    .with_span(span),
                );
                continue;
            }
            self.config.locals.insert(name.clone(), Local { name, expr: attr.expr, span });
        }
        for nested in body.blocks {
            let span = body.file.map(|f| self.config.sources.span(f, nested.range.clone()));
            self.diags.push(
                Diagnostic::error("TF0113", "Unsupported block", "A locals block takes only name = value arguments.")
                    .with_span(span),
            );
        }
    }

    fn settings(&mut self, body: Body) {
        for nested in body.blocks {
            let span = self.span(nested.body.file.unwrap_or(FileId(0)), Some(nested.range.clone()));
            match (nested.kind.as_str(), nested.labels.as_slice()) {
                ("backend", [kind]) => self.config.settings.backend = Some(BackendConfig { kind: kind.clone(), body: nested.body, span }),
                ("outputs", []) => self.config.settings.outputs = Some(nested.body),
                ("encryption", []) => self.config.settings.encryption = Some(nested.body),
                ("required_providers", _) => {}
                _ => self.diags.push(
                    Diagnostic::error("TF0119", "Unsupported settings block", format!("The trustform block takes backend \"local\" {{ ... }}, outputs {{ env_file, format }} and encryption {{ ... }}; \"{}\" is not supported.", nested.kind))
                        .with_span(span),
                ),
            }
        }
    }
}

fn label_text(label: &BlockLabel) -> &str {
    label.as_str()
}

/// The range of a block's header: from its identifier to the opening brace.
fn header_range(block: &HclBlock) -> Option<Range<usize>> {
    let start = block.ident.span()?.start;
    let end = block.labels.last().and_then(|l| l.span()).map_or(block.ident.span()?.end, |r| r.end);
    Some(start..end)
}

/// `a.b.c` as its parts, for expressions that are plain references (depends_on, provider).
pub fn static_traversal(expr: &Expression) -> Option<Vec<String>> {
    use hcl_edit::expr::TraversalOperator;
    match expr {
        Expression::Variable(v) => Some(vec![v.as_str().to_owned()]),
        Expression::Traversal(t) => {
            let mut parts = static_traversal(&t.expr)?;
            for op in &t.operators {
                match op.value() {
                    TraversalOperator::GetAttr(ident) => parts.push(ident.as_str().to_owned()),
                    _ => return None,
                }
            }
            Some(parts)
        }
        _ => None,
    }
}

fn static_bool(expr: &Expression) -> Option<bool> {
    match expr {
        Expression::Bool(b) => Some(*b.value()),
        _ => None,
    }
}

fn static_string(expr: &Expression) -> Option<String> {
    match expr {
        Expression::String(s) => Some(s.value().clone()),
        Expression::StringTemplate(t) => {
            let mut out = String::new();
            for element in t.iter() {
                out.push_str(element.as_literal()?.value());
            }
            Some(out)
        }
        _ => None,
    }
}

/// The value of a literal expression: null, a bool, number or string without
/// interpolations, or a tuple or object of those. `None` for anything that needs evaluating.
fn literal_value(expr: &Expression) -> Option<crate::Value> {
    use crate::Value;
    Some(match expr {
        Expression::Null(_) => Value::Null,
        Expression::Bool(b) => Value::Bool(*b.value()),
        Expression::Number(n) => Value::Number(*n.value()),
        Expression::String(s) => Value::String(s.value().clone()),
        Expression::Parenthesis(p) => return literal_value(p.inner()),
        Expression::UnaryOp(op) if *op.operator.value() == hcl_edit::expr::UnaryOperator::Neg => {
            match literal_value(&op.expr)? {
                Value::Number(n) => Value::Number(-n),
                _ => return None,
            }
        }
        Expression::Array(items) => Value::List(items.iter().map(literal_value).collect::<Option<_>>()?),
        Expression::Object(object) => {
            let mut map = BTreeMap::new();
            for (key, value) in object.iter() {
                let key = match key {
                    hcl_edit::expr::ObjectKey::Ident(i) => i.as_str().to_owned(),
                    hcl_edit::expr::ObjectKey::Expression(e) => static_string(e)?,
                };
                map.insert(key, literal_value(value.expr())?);
            }
            Value::Object(map)
        }
        _ => return None,
    })
}

/// Parses a type constraint expression: `string`, `list(string)`, `object({a = string})`...
pub fn parse_type(expr: &Expression) -> Result<Type, String> {
    match expr {
        Expression::Variable(v) => match v.as_str() {
            "string" => Ok(Type::String),
            "number" => Ok(Type::Number),
            "bool" => Ok(Type::Bool),
            "any" => Ok(Type::Any),
            "list" => Ok(Type::list(Type::Any)),
            "map" => Ok(Type::map(Type::Any)),
            "set" => Ok(Type::set(Type::Any)),
            other => Err(format!("\"{other}\" is not a type")),
        },
        Expression::FuncCall(call) => {
            let name = call.name.name.as_str();
            let args: Vec<&Expression> = call.args.iter().collect();
            match (name, args.as_slice()) {
                ("list", [inner]) => Ok(Type::list(parse_type(inner)?)),
                ("set", [inner]) => Ok(Type::set(parse_type(inner)?)),
                ("map", [inner]) => Ok(Type::map(parse_type(inner)?)),
                ("tuple", [Expression::Array(items)]) => {
                    Ok(Type::Tuple(items.iter().map(parse_type).collect::<Result<_, _>>()?))
                }
                ("object", [Expression::Object(obj)]) => {
                    let mut attrs = BTreeMap::new();
                    let mut optional = Vec::new();
                    for (key, value) in obj.iter() {
                        let key = match key {
                            hcl_edit::expr::ObjectKey::Ident(i) => i.as_str().to_owned(),
                            hcl_edit::expr::ObjectKey::Expression(e) => {
                                static_string(e).ok_or("object attribute names must be identifiers")?
                            }
                        };
                        let ty = match value.expr() {
                            Expression::FuncCall(c) if c.name.name.as_str() == "optional" => {
                                optional.push(key.clone());
                                let mut args = c.args.iter();
                                let inner = parse_type(args.next().ok_or("optional() takes a type")?)?;
                                match args.next() {
                                    None => inner,
                                    Some(default) => {
                                        let value = literal_value(default)
                                            .ok_or("the default of optional(type, default) must be a literal value")?;
                                        let value = inner.convert(value).map_err(|e| {
                                            format!("the default of attribute \"{key}\" does not fit its type: {e}")
                                        })?;
                                        Type::WithDefault(Box::new(inner), value.to_json().to_string())
                                    }
                                }
                            }
                            other => parse_type(other)?,
                        };
                        attrs.insert(key, ty);
                    }
                    Ok(Type::Object(attrs, optional))
                }
                _ => Err(format!("\"{name}(...)\" is not a valid type constructor")),
            }
        }
        _ => Err("this is not a type".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (Config, Diagnostics) {
        load_sources([("main.tf".to_owned(), text.to_owned())])
    }

    #[test]
    fn sorts_blocks_and_meta_arguments() {
        let (config, diags) = load(
            r#"
            trustform {
              backend "local" { path = "state/x.tfstate" }
            }
            variable "names" {
              type    = list(string)
              default = ["a"]
              validation {
                condition     = length(var.names) > 0
                error_message = "Need a name."
              }
            }
            locals { prefix = "tf" }
            resource "trustform_data" "chain" {
              count      = 3
              input      = "x"
              depends_on = [trustform_data.root]
              lifecycle {
                ignore_changes = [input]
              }
            }
            resource "trustform_data" "root" {}
            output "first" { value = trustform_data.chain[0].id }
            "#,
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(config.settings.backend.as_ref().unwrap().kind, "local");
        assert_eq!(config.variables["names"].ty, Some(Type::list(Type::String)));
        assert_eq!(config.variables["names"].validations.len(), 1);
        let chain = &config.resources[&ResourceId::managed("trustform_data", "chain")];
        assert!(matches!(chain.repetition, Repetition::Count(_)));
        assert_eq!(chain.depends_on[0].0, ResourceId::managed("trustform_data", "root"));
        assert_eq!(chain.lifecycle.ignore_changes, IgnoreChanges::Attributes(vec!["input".into()]));
        assert!(chain.body.attributes.contains_key("input"));
        assert!(!chain.body.attributes.contains_key("count"));
        assert_eq!(chain.span.to_string(), "main.tf:14:13");
    }

    #[test]
    fn the_encryption_block_is_kept_for_the_cli_and_other_settings_are_refused() {
        let (config, diags) =
            load("trustform {\n  encryption {\n    state { method = method.aes_gcm.main }\n  }\n  bogus {}\n}\n");
        let encryption = config.settings.encryption.as_ref().expect("kept");
        assert_eq!(encryption.blocks[0].kind, "state");
        assert!(encryption.blocks[0].body.attributes.contains_key("method"));
        let codes: Vec<_> = diags.iter().map(|d| (d.code, d.span.as_ref().unwrap().to_string())).collect();
        assert_eq!(codes, [("TF0119", "main.tf:5:3".to_owned())]);
        assert!(diags.iter().next().unwrap().detail.contains("encryption { ... }"));
    }

    #[test]
    fn module_paths_are_joined_in_the_text() {
        assert_eq!(join_lexically(FsPath::new("."), "./gw"), PathBuf::from("gw"));
        assert_eq!(join_lexically(FsPath::new("mods/team"), "../leaf"), PathBuf::from("mods/leaf"));
        assert_eq!(join_lexically(FsPath::new("."), "../shared/x"), PathBuf::from("../shared/x"));
        assert_eq!(join_lexically(FsPath::new("/spec"), "../../x"), PathBuf::from("/x"));
    }

    #[test]
    fn module_blocks_keep_their_meta_arguments_and_refuse_remote_sources() {
        let (config, diags) = load(
            r#"
            module "gw" {
              source     = "./gw"
              for_each   = toset(["a"])
              providers  = { aws = aws.bedrock }
              depends_on = [module.other, trustform_data.x]
              name       = each.key
            }
            module "remote" {
              source = "hashicorp/consul/aws"
            }
            provider "aws" {}
            provider "aws" {
              alias = "bedrock"
            }
            "#,
        );
        let codes: Vec<_> = diags.iter().map(|d| (d.code, d.span.as_ref().unwrap().to_string())).collect();
        assert_eq!(codes, [("TF0132", "main.tf:10:15".to_owned())]);
        let gw = &config.module_calls["gw"];
        assert!(matches!(gw.repetition, Repetition::ForEach(_)));
        assert_eq!(
            gw.providers.iter().map(|(c, p, _)| (c.as_str(), p.as_str())).collect::<Vec<_>>(),
            [("aws", "aws.bedrock")]
        );
        assert_eq!(gw.depends_on_modules[0].0, "other");
        assert_eq!(gw.depends_on[0].0, ResourceId::managed("trustform_data", "x"));
        assert_eq!(gw.arguments.attributes.keys().collect::<Vec<_>>(), ["name"]);
        assert_eq!(config.providers.keys().collect::<Vec<_>>(), ["aws", "aws.bedrock"]);
        assert_eq!(config.providers["aws.bedrock"].alias.as_deref(), Some("bedrock"));
    }

    #[test]
    fn syntax_errors_point_at_line_and_column() {
        let (_, diags) = load("resource \"a\" \"b\" {\n  x = \n}\n");
        let d = diags.iter().next().unwrap();
        assert_eq!(d.code, "TF0100");
        assert_eq!(d.span.as_ref().unwrap().to_string(), "main.tf:2:7");
    }

    #[test]
    fn duplicates_and_bad_labels_are_reported_together() {
        let (_, diags) = load(
            r#"
            resource "a" "b" {}
            resource "a" "b" {}
            resource "a" {}
            bogus {}
            "#,
        );
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["TF0106", "TF0103", "TF0102"]);
    }
}
