package hfconvert

// AsQwen3Carrier is asQwen3Carrier, for the external tests (which use models/hfmodels, itself a user).
var AsQwen3Carrier = asQwen3Carrier
