// @parley/client: public entry point. Filled by its issue; nothing is exported yet.
export {};
