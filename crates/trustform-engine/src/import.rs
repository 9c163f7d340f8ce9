//! `trustform import ADDR ID`: bring an existing cloud object under management.

use crate::engine::Engine;
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_lang::{ResourceAddr, Value};
use trustform_state::{ResourceState, State, StateStore};

impl Engine {
    /// Reads the object `id` through its provider and records it at `addr`, which must be
    /// declared in the configuration and not yet in state. Persists before returning.
    pub async fn import(
        &self,
        addr: &ResourceAddr,
        id: &str,
        mut state: State,
        store: &dyn StateStore,
    ) -> (State, Diagnostics) {
        let mut diags = self.configure_providers(&state).await;
        if diags.has_errors() {
            return (state, diags);
        }
        let Some(resource) = self.block(addr).filter(|_| !addr.is_data()) else {
            diags.push(Diagnostic::error(
                "TF1100",
                "Import to undeclared resource",
                format!("{addr} is not declared in the configuration. Add a resource \"{}\" \"{}\" block first, then import into it.", addr.resource.type_name, addr.resource.name),
            ));
            return (state, diags);
        };
        if let Some(existing) = state.resources.get(addr) {
            diags.push(
                Diagnostic::error(
                    "TF1101",
                    "Resource already managed",
                    format!("{addr} is already in state with id {:?}. To import another object there, first run `trustform state rm {addr}`.", existing.id),
                )
                .with_span(resource.span.clone()),
            );
            return (state, diags);
        }
        let type_name = addr.type_name();
        let provider_key = self.provider_key(resource, &addr.module);
        let provider = self.providers.instance(&provider_key).expect("checked when the engine was built");
        let schema = self.providers.resource_schema(type_name).expect("checked when the engine was built");
        let value = match provider.import(type_name, id).await {
            Ok(value) => value,
            Err(e) => {
                diags.push(
                    Diagnostic::error(
                        "TF1102",
                        "Import failed",
                        format!(
                            "Importing {addr} from id {id:?} failed: {e}. The id format for {type_name} is {}.",
                            schema.import_id_format
                        ),
                    )
                    .with_span(resource.span.clone())
                    .with_address(addr),
                );
                return (state, diags);
            }
        };
        let sensitive: Vec<_> = schema.block.sensitive_attributes().map(trustform_lang::Path::key).collect();
        let value: Value = value.mark_paths(&sensitive);
        let dependencies = Vec::new();
        match ResourceState::from_value(type_name, &provider_key, &value, dependencies) {
            Ok(recorded) => {
                state.resources.insert(addr.clone(), recorded);
                state.serial = state.serial.saturating_add(1);
                if let Err(e) = store.write(&state).await {
                    diags.push(Diagnostic::error(
                        "TF1010",
                        "Failed to persist state",
                        format!("Writing {} failed: {e}.", store.describe()),
                    ));
                }
            }
            Err(e) => diags.push(Diagnostic::error(
                "TF1102",
                "Import failed",
                format!("The provider returned an unusable state for {addr}: {e}."),
            )),
        }
        (state, diags)
    }
}
