/** The 11 fields of an ETSI GS QKD 014 Status, as the standard spells them: written out here, not taken from the code under test. */
export const STATUS_FIELDS = [
  'source_KME_ID',
  'target_KME_ID',
  'master_SAE_ID',
  'slave_SAE_ID',
  'key_size',
  'stored_key_count',
  'max_key_count',
  'max_key_per_request',
  'max_key_size',
  'min_key_size',
  'max_SAE_ID_count',
];
