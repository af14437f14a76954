"""fuselint's own process: it starts the reference's and the candidate's processes (`runner`,
`sandbox`), reads what they write as data, and alone compares and decides (`judge`, `verdict`);
then it reports (`text`, `batch`)."""
