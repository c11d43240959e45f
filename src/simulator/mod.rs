//! Cloakfusion API simulator.
