//! placeholder: written by the sandbox work
