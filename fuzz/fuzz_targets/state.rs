//! State decoding: any bytes read from a state file or an S3 object go through the encryption
//! layer's decode (here without a key: plaintext, or an envelope refused with a message), and a
//! state that decodes writes back to bytes that decode to the same state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trustform_state::encryption::Payload;
use trustform_state::{Encryption, State};

fuzz_target!(|data: &[u8]| {
    let encryption = Encryption::plaintext(Payload::State);
    let _ = encryption.decode("fuzz.tfstate", data);
    if let Ok(state) = State::from_json_bytes(data) {
        let bytes = state.to_json_bytes();
        let again = State::from_json_bytes(&bytes).expect("a state Trustform wrote reads back");
        assert!(again == state, "a state changes when written and read back");
    }
});
