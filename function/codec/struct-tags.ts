/** Tags of google.protobuf.Struct, Struct.FieldsEntry, Value and ListValue, as written. */
export const TAG = {
  /** Struct.fields, FieldsEntry.key and ListValue.values: each message's field 1, delimited. */
  FIRST: (1 << 3) | 2,
  ENTRY_VALUE: (2 << 3) | 2,
  // Value's kinds.
  NULL: (1 << 3) | 0,
  NUMBER: (2 << 3) | 1,
  STRING: (3 << 3) | 2,
  BOOL: (4 << 3) | 0,
  STRUCT: (5 << 3) | 2,
  LIST: (6 << 3) | 2,
} as const;
