-- The extension's catalog as sorted lines of text: everything an install or upgrade defines.
-- Two databases with equal output have the same tables, columns, defaults, constraints,
-- indexes, row-level security, policies, functions (signature, attributes, settings, body),
-- comments, privileges, dump configuration and extension members.
WITH ns AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'workflow_scheduler'),
lines AS (
    SELECT pg_catalog.format('schema acl=%s', n.nspacl) AS line
      FROM pg_catalog.pg_namespace n WHERE n.oid = (SELECT oid FROM ns)
    UNION ALL
    SELECT pg_catalog.format('relation %s kind=%s rls=%s force_rls=%s acl=%s',
                             c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relacl)
      FROM pg_catalog.pg_class c WHERE c.relnamespace = (SELECT oid FROM ns)
    UNION ALL
    SELECT pg_catalog.format('column %s.%s #%s %s not_null=%s default=%s',
                             c.relname, a.attname, a.attnum, pg_catalog.format_type(a.atttypid, a.atttypmod),
                             a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid))
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE c.relnamespace = (SELECT oid FROM ns) AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT pg_catalog.format('constraint %s on %s: %s', con.conname, c.relname, pg_catalog.pg_get_constraintdef(con.oid))
      FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
     WHERE c.relnamespace = (SELECT oid FROM ns)
    UNION ALL
    SELECT pg_catalog.format('index %s', pg_catalog.pg_get_indexdef(i.indexrelid))
      FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
     WHERE c.relnamespace = (SELECT oid FROM ns)
    UNION ALL
    SELECT pg_catalog.format('policy %s on %s cmd=%s permissive=%s roles=%s using=%s check=%s',
                             p.polname, c.relname, p.polcmd, p.polpermissive, p.polroles,
                             pg_catalog.pg_get_expr(p.polqual, p.polrelid),
                             pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
      FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
     WHERE c.relnamespace = (SELECT oid FROM ns)
    UNION ALL
    SELECT pg_catalog.format('function %s(%s) returns %s lang=%s strict=%s volatility=%s parallel=%s security_definer=%s config=%s acl=%s source=%s',
                             p.proname, pg_catalog.pg_get_function_arguments(p.oid),
                             pg_catalog.pg_get_function_result(p.oid), l.lanname, p.proisstrict,
                             p.provolatile, p.proparallel, p.prosecdef, p.proconfig, p.proacl,
                             pg_catalog.btrim(p.prosrc))
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
     WHERE p.pronamespace = (SELECT oid FROM ns)
    UNION ALL
    SELECT pg_catalog.format('comment on %s: %s', pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
      FROM pg_catalog.pg_description d
     WHERE (d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
            AND d.objoid IN (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relnamespace = (SELECT oid FROM ns)))
        OR (d.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass
            AND d.objoid IN (SELECT p.oid FROM pg_catalog.pg_proc p WHERE p.pronamespace = (SELECT oid FROM ns)))    UNION ALL
    SELECT pg_catalog.format('trigger %s on %s', t.tgname, c.relname)
      FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = (SELECT oid FROM ns) AND NOT t.tgisinternal
    UNION ALL
    SELECT pg_catalog.format('extension %s config=%s conditions=%s', e.extname, e.extconfig::regclass[], e.extcondition)
      FROM pg_catalog.pg_extension e WHERE e.extname = 'workflow_scheduler'
    UNION ALL
    SELECT pg_catalog.format('member %s', pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid))
      FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
     WHERE e.extname = 'workflow_scheduler' AND d.deptype = 'e'
)
SELECT pg_catalog.string_agg(line, E'\n' ORDER BY line) FROM lines
