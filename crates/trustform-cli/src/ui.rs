//! Terminal presentation: colour, the approval prompt, and progress from engine events
//! (a live display on a terminal, one line per event elsewhere).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;
use trustform_engine::{Event, Hook};
use trustform_lang::ResourceAddr;
use trustform_plan::Action;

pub use trustform_plan::Style;

/// Colour only on a terminal, and never with `NO_COLOR` or `--no-color`.
pub fn style_for(stream: &impl IsTerminal, no_color: bool) -> Style {
    let disabled = no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) || !stream.is_terminal();
    if disabled {
        Style::Plain
    } else {
        Style::Color
    }
}

/// Asks for approval on a terminal. Without one, or with `-input=false`, refuses: a pipe cannot
/// say yes by accident, and a CI job that said it takes no input gets an error, not a question.
pub fn confirm(ctx: &crate::context::Ctx, question: &str, detail: &str) -> Result<bool, String> {
    if !ctx.input {
        return Err("-input=false forbids asking for approval. Review the plan and pass --auto-approve, or apply a plan saved with --out.".into());
    }
    if !std::io::stdin().is_terminal() {
        return Err("standard input is not a terminal, so Trustform cannot ask for approval. Review the plan and pass --auto-approve, or apply a plan saved with --out.".into());
    }
    let mut out = std::io::stdout();
    let _ = write!(out, "\n{question}\n  {detail}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    let _ = out.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|e| e.to_string())?;
    Ok(answer.trim() == "yes")
}

fn verb(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::Create => ("Creating...", "Creation complete"),
        Action::Update => ("Modifying...", "Modifications complete"),
        Action::Delete => ("Destroying...", "Destruction complete"),
        Action::DeleteThenCreate | Action::CreateThenDelete => ("Replacing...", "Replacement complete"),
        Action::Read => ("Reading...", "Read complete"),
        Action::NoOp | Action::Forget => ("", ""),
    }
}

/// Shows engine progress on standard error. Events carry no attribute values, so nothing
/// secret can reach the terminal through here.
pub struct Progress {
    live: Option<(MultiProgress, Mutex<HashMap<ResourceAddr, ProgressBar>>)>,
}

impl Progress {
    pub fn new() -> Progress {
        let live = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Progress {
            live: live
                .then(|| (MultiProgress::with_draw_target(ProgressDrawTarget::stderr()), Mutex::new(HashMap::new()))),
        }
    }

    /// Prints one progress line. Addresses (for_each keys), ids and error messages come from the
    /// spec and the clouds, so every character a terminal would obey is escaped.
    fn line(&self, text: String) {
        let text = crate::escape::terminal(&text).into_owned();
        match &self.live {
            Some((multi, _)) => {
                let _ = multi.println(text);
            }
            None => errln!("{text}"),
        }
    }
}

impl Hook for Progress {
    fn event(&self, event: Event) {
        match event {
            Event::RefreshStarted { .. } => {}
            Event::RefreshFinished { address, gone } => {
                if gone {
                    self.line(format!("{address}: Refreshing state... (object no longer exists)"));
                } else {
                    self.line(format!("{address}: Refreshing state..."));
                }
            }
            Event::ApplyStarted { address, action } => {
                let (start, _) = verb(action);
                match &self.live {
                    Some((multi, bars)) => {
                        let bar = multi.add(ProgressBar::new_spinner());
                        bar.set_style(
                            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                        );
                        bar.set_message(crate::escape::terminal(&format!("{address}: {start}")).into_owned());
                        bar.enable_steady_tick(Duration::from_millis(120));
                        bars.lock().unwrap_or_else(|e| e.into_inner()).insert(address, bar);
                    }
                    None => self.line(format!("{address}: {start}")),
                }
            }
            Event::ApplyFinished { address, action, id, elapsed } => {
                self.finish(&address);
                let (_, done) = verb(action);
                let id = id.map(|id| format!(" [id={id}]")).unwrap_or_default();
                self.line(format!("{address}: {done} after {:.1}s{id}", elapsed.as_secs_f64()));
            }
            Event::ApplyFailed { address, action, message } => {
                self.finish(&address);
                let (start, _) = verb(action);
                self.line(format!("{address}: {} failed: {message}", start.trim_end_matches("...")));
            }
            // Terraform's words (internal/command/views/hook_ui.go).
            Event::Imported { address, id } => self.line(format!("{address}: Import complete [id={id}]")),
            Event::Skipped { address, because } => self.line(format!("{address}: Skipped because {because} failed")),
            Event::Interrupted => self.line("Interrupted: waiting for operations in flight, then saving state.".into()),
        }
    }
}

impl Progress {
    fn finish(&self, address: &ResourceAddr) {
        if let Some((multi, bars)) = &self.live {
            if let Some(bar) = bars.lock().unwrap_or_else(|e| e.into_inner()).remove(address) {
                bar.finish_and_clear();
                multi.remove(&bar);
            }
        }
    }
}
