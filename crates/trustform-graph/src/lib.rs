//! trustform-graph
