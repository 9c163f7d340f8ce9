//! trustform-plan
