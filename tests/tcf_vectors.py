"""TC strings published with their decoded values by others, for our decoder's tests.

Each string is quoted from another project's test suite, named above it (repository
and file); the decoded values the tests check are the ones those suites assert.
"""

# InteractiveAdvertisingBureau/iabtcf-java,
# iabtcf-decoder/src/test/java/com/iabtcf/decoder/TCStringV2Test.java (made with
# https://www.iabtcf.com/#/encode): testCanConstructTCModelFromBase64String,
# testConstructConsentsFromBitFields, testCanParseDisclosedAndAllowedVendors and
# testCanParseAllParts, testCanParseRangeEncodedVendorLegitimateInterests.
JAVA_BASIC = "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA"
JAVA_VENDORS = (
    "COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQAQAAAACAAAABAAA"
)
JAVA_ALL_PARTS = (
    f"{JAVA_VENDORS}.IBAgAAAgAIAwgAgAAAAEAAAACA.QAagAQAgAIAwgA.cAAAAAAAITg="
)
JAVA_RANGE_LI = "COv__-wOv__-wC2AAAENAPCgAAAAAAAAAAAAA_wAQA_gEBABAEAAAA"


# travelaudience/go-iabtcf, parse_test.go: a v2.0 range string, a v2.2 bitfield one.
GO_RANGE = (
    "COzcJxTOzcJxTBcAAAENAiCMAP_AAAAAAAAADTwAQDTgAAAA.IF5EX2S5OI2tho2YdF7BEYYwfJxyigM"
    "gShgQIsS8NwIeFbBoGPmAAHBG4JAQAGBAkkACBAQIsHGBcCQABgIgRiRCMQEGMjzNKBJBAggkbI0FAC"
    "CVmnkHS3ZCY70-6u__bA"
)
GO_V22 = (
    "CP9Qr_AP9Qr_AAfETDFRAwEsAP_gAEPgAAigg1NX_H__bX9v-Xr36ft0eY1f99j77uQxBhfJs-4FzLvW_"
    "JwX32EzNE36tqYKmRIEu3bBIQFtHJnUTVihaogVrzHsYkGchTNKJ-BkiHMRe2dYCF5vmYtj-QKZ5_p_d3"
    "f52T_9_dv-3dzzz91nv3f9f-f1eLida59tH_v_bRKb-_If9_7-_4v0_t_rk2_eTVv_9evv79-u_t____9"
    "_9____4" + "A" * 484 + "QAAAEQamr_j__tr-3_L179P26PMav--x993IYgwvk2fcC5l3rfk4L77C"
    "Zmib9W1MFTIkCXbtgkIC2jkzqJqxQtUQK15j2MSDOQpmlE_AyRDmIvbOsBC83zMWx_IFM8_0_u7v87J_-"
    "_u3_bu555-6z37v-v_P6vFxOtc-2j_3_tolN_fkP-_9_f8X6f2_1ybfvJq3_-vX39-_Xf2____-_-____"
    "8" + "A" * 484 + "IAAACAA"
)


# IABTechLab/iabgpp-es, modules/cmpapi/test/encoder/section/TcfEuV2.test.ts,
# "decode with vendor [11, 28, 29] and publisher TC": a TCF v2.3 string (policy
# version 5, service-specific, DisclosedVendors and Publisher TC segments).
GPP_V23 = (
    "CPTtLAAPTtLAAAAAAAENAAFgALwAAEAAAAAAAOgAgABgAAAA.IAoAAgABgAAEAQAAEAAA.d4AACEAAAAAA"
)


# iabgpp-es TcfEuV2.test.ts "decode" (and iabgpp-java TcfEuV2Test.testDecode3):
# publisher TC, allowed vendors, then 434 disclosed vendors.
GPP_434 = (
    "CPcqBNJPcqBNJNwAAAENAwCAAAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAA.QGLtV_T9fb2vj-_Z99_tkeYwf"
    "95y3p-wzhheMs-8NyZeH_B4Wv2MyvBX4JiQKGRgksjLBAQdtHGlcTQgBwIlViTLMYk2MjzNKJrJEilsbO"
    "2dYGD9Pn8HT3ZCY70-vv__7v3ff_3g.IGLtV_T9fb2vj-_Z99_tkeYwf95y3p-wzhheMs-8NyZeH_B4W"
    "v2MyvBX4JiQKGRgksjLBAQdtHGlcTQgBwIlViTLMYk2MjzNKJrJEilsbO2dYGD9Pn8HT3ZCY70-vv__7"
    "v3ff_3g"
)


# iabgpp-es TcfEuV2.test.ts "decode 4" (iabgpp-java testDecode6 has its core)
GPP_DECODE_4 = (
    "COv_eg6Ov_eg6AOADBENAaCgAP_AAH_AACiQAVEUQQoAIQAqIoghAAQgAA.YAAAAAAAAAAAAAAAAAA."
    "IGLtV_T9fb2vj-_Z99_tkeYwf95y3p-wzhheMs-8NyZeH_B4Wv2MyvBX4JiQKGRgksjLBAQdtHGlcTQg"
    "BwIlViTLMYk2MjzNKJrJEilsbO2dYGD9Pn8HT3ZCY70-vv__7v3ff_3g"
)


# IABTechLab/iabgpp-java,
# iabgpp-encoder/src/test/java/com/iab/gpp/encoder/section/TcfEuV2Test.java,
# testDecode7: purpose 1 "not allowed" for vendor 10.
GPP_JAVA_RESTRICTION = "COoC-kUOoC-kUAHABAENAwCoAIAAAELAAAwIF5wAoAAgAGAvMACX_ABBAAQAFA"


# InteractiveAdvertisingBureau/iabtcf-es, modules/core/test/ReportedIssues.test.ts,
# issue 201: a string whose
# CMP encoded the same (purpose, type) restriction several times.
ES_ISSUE_201 = (
    "CO4VGswO4VGswAfZCBDEAzCsAP_AAH_AAAigGUNf_X9fb2vj-_599_t0eY1f9_63t-wzjheMs-8NyZ-X_J4W"
    "v2MyvB34JqQKGRgkunLBAQdtHGncTQgBwIlViTLMY02MjzNKJrJEilsbe2dYGH9vn8XT_ZKZ70-_v__7v3"
    "___33_5Ayhr_6_r7e18f3_Pvv9ujzGr_v_W9v2GccLxln3huTPy_5PC1-xmV4O_BNSBQyMEl05YICDto4"
    "07iaEAOBEqsSZZjGmxkeZpRNZIkUtjb2zrAw_t8_i6f7JTPen39___d-___--__ICgKAOAAcAA4AFAAjgB"
    "6AEYALcGACAW0AtoJAHAAOAAcACgARwA9ACMAFuFABALaAW0GgDgAHAAOABQAI4AegBGAC3DgAgFtALaEQ"
    "BwADgAHAAoAEcAPQAjABbiQAQC2gFtCoA4ABwADgAUACOAHoARgAtxYAIBbQC2hkAcAA4ABwAKABHAD0AI"
    "wAW40AEAtoBbQ6AOAAcAA4AFAAjgB6AEYALceACAW0AtohAHAAOAAcACgARwA9ACMAFuRABALaAW0SgDg"
    "AHAAOABQAI4AegBGAC3JgAgFtALaKQBwADgAHAAoAEcAPQAjABblQAQC2gFtA"
)
