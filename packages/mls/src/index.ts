// @parley/mls: RFC 9420 engine. Public entry point.
export {};
