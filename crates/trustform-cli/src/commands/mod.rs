//! One module per command family. Each returns the process exit code, having printed its
//! diagnostics already.

pub mod apply;
pub mod inspect;
pub mod migrate;
pub mod plan;
pub mod state;
pub mod validate;
pub mod workspace;

use crate::ui::Style;
use std::path::PathBuf;
use std::sync::Arc;
use trustform_engine::Hook;
use trustform_graph::CancellationToken;

/// What every command knows: where it runs, how to style output, and Ctrl-C.
pub struct Ctx {
    pub dir: PathBuf,
    pub out: Style,
    pub err: Style,
    pub cancel: CancellationToken,
    pub hook: Arc<dyn Hook>,
}
