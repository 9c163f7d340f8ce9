//! trustform-test-provider
