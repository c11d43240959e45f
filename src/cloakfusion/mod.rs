//! Cloakfusion API client.
