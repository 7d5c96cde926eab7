"""Message schemas: one XSD per type in ``xsd/`` and one pydantic body model per type.

Convention shared by every type (what lets one generic codec, ``hub.codec``, read and write them all):
- the XML root element is the model's ``ROOT`` in namespace ``urn:ke:nesws:hub:<type>:1``;
- each model field is a child element named in PascalCase, in field order (``xs:sequence``);
- a list field is a repeated element; an optional field an element with ``minOccurs="0"``;
- a ``Measure`` field is an element with a decimal text and a ``unitCode`` attribute;
- the JSON form is the same model with camelCase keys plus a top-level ``"messageType"``.

Adding a type: write ``hub/schemas/<type_with_underscores>.py`` with one ``Body`` subclass setting ``TYPE``
and ``ROOT`` and implementing ``keys()``, and ``xsd/<type>.xsd``; the catalogue discovers it.
"""
