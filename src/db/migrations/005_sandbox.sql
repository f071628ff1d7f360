-- How each execution was isolated: `bwrap`, or `none` where the operator opted out (MLR_SANDBOX=none).
ALTER TABLE experiments ADD COLUMN sandbox text;
