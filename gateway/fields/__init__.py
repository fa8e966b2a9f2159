"""Field values as the policies type them, below every service that reads them.

`normalize`: one canonical form per field type (an e-mail lower-cased, a
phone number in E.164, a date in ISO form), or a reason it is not one;
`names`: which submitted key may be echoed back in an error. Ingestion,
consent and the DPO's lookups all read values this way, so none of them
owns it.
"""
