//! Output values after apply: shown on the terminal (sensitive ones masked) and written to the
//! env file (sensitive ones included: that is what the file is for).

use crate::context::Ctx;
use crate::project::{fail, CmdResult};
use crate::ui::Style;
use std::collections::BTreeMap;
use std::path::Path;
use trustform_lang::Value;
use trustform_outputs::{render_env, EnvFormat};
use trustform_state::State;

/// The state's outputs as values, sensitive ones marked.
pub fn output_values(state: &State) -> BTreeMap<String, Value> {
    state.outputs.iter().map(|(name, o)| (name.clone(), Value::from_json(&o.value).mark_if(o.sensitive))).collect()
}

pub fn print_outputs(state: &State, _style: Style) {
    let values = output_values(state);
    if values.is_empty() {
        return;
    }
    outln!("\nOutputs:\n");
    for (name, value) in &values {
        outln!("{name} = {}", value.render());
    }
}

/// Writes the env file atomically with mode 0600, or explains which output cannot be carried.
pub fn write_env_file(ctx: &Ctx, path: &Path, state: &State, format: EnvFormat) -> CmdResult<()> {
    let style = ctx.err;
    let text = render_env(&output_values(state), format).map_err(|errors| {
        let detail = errors.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n");
        fail("TF1040", "Cannot write the outputs file", format!("{} was not written:\n{detail}", path.display()), style)
    })?;
    trustform_state::write_file_atomically(path, text.as_bytes())
        .map_err(|e| fail("TF1041", "Cannot write the outputs file", format!("{}: {e}.", path.display()), style))?;
    errln!("Wrote {} output(s) to {}", state.outputs.len(), ctx.shown(path).display());
    Ok(())
}
