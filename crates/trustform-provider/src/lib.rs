//! trustform-provider
