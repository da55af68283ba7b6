//! A real LDAP directory for tests: Debian's OpenLDAP `slapd`, in a directory of the test's with
//! its own config, seeded with `slapadd` (people, groups, and a service account vigil searches
//! as), listening on `ldap://` (StartTLS offered) and `ldaps://` with a certificate signed by a
//! test authority made with `openssl`. Anonymous binds may not read anything.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{KillOnDrop, free_port, service_binary};

/// The suffix.
pub const BASE: &str = "dc=example,dc=org";
/// The service account vigil searches as, and its password.
pub const SERVICE_DN: &str = "cn=vigil,ou=services,dc=example,dc=org";
/// Its password.
pub const SERVICE_PASSWORD: &str = "vigil-bind-5ecret";

/// A running directory.
pub struct Slapd {
    /// `ldap://127.0.0.1:PORT` (StartTLS offered).
    pub ldap_url: String,
    /// `ldaps://127.0.0.1:PORT`.
    pub ldaps_url: String,
    /// The test authority's certificate, PEM.
    pub ca_pem: String,
    _process: KillOnDrop,
}

/// `people`: (uid, name, password, groups).
pub type Person<'a> = (&'a str, &'a str, &'a str, &'a [&'a str]);

/// Starts slapd in `dir` with `people`; `None` (skipped, with a note) when slapd is missing.
pub async fn start(dir: &Path, people: &[Person<'_>]) -> Option<Slapd> {
    let slapd = service_binary(&["/usr/sbin/slapd"], "slapd (Debian `slapd`)")?;
    let slapadd = service_binary(&["/usr/sbin/slapadd"], "slapadd (Debian `slapd`)")?;
    let openssl = service_binary(&["/usr/bin/openssl"], "openssl (Debian `openssl`)")?;
    std::fs::create_dir_all(dir.join("data")).unwrap();
    make_certificates(&openssl, dir);
    let d = dir.display();
    let conf = format!(
        "include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\n\
         include /etc/ldap/schema/inetorgperson.schema\ninclude /etc/ldap/schema/nis.schema\n\
         modulepath /usr/lib/ldap\nmoduleload back_mdb\npidfile {d}/slapd.pid\n\
         TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\nTLSCertificateKeyFile {d}/server.key\n\
         database mdb\nmaxsize 10485760\nsuffix \"{BASE}\"\nrootdn \"cn=admin,{BASE}\"\nrootpw admin-5ecret\n\
         directory {d}/data\n\
         access to attrs=userPassword by anonymous auth by self write by * none\n\
         access to * by dn.exact=\"{SERVICE_DN}\" read by self read by * none\n"
    );
    std::fs::write(dir.join("slapd.conf"), conf).unwrap();
    std::fs::write(dir.join("seed.ldif"), seed(people)).unwrap();
    let conf = dir.join("slapd.conf");
    let added = Command::new(slapadd).arg("-f").arg(&conf).arg("-l").arg(dir.join("seed.ldif")).output().unwrap();
    assert!(added.status.success(), "slapadd: {}", String::from_utf8_lossy(&added.stderr));
    let (plain, tls) = (free_port(), free_port());
    let (ldap_url, ldaps_url) = (format!("ldap://127.0.0.1:{plain}"), format!("ldaps://127.0.0.1:{tls}"));
    // `-d 0`: stay in the foreground (so the test owns the process), logging nothing.
    let child = Command::new(slapd)
        .arg("-f")
        .arg(&conf)
        .args(["-h", &format!("{ldap_url}/ {ldaps_url}/"), "-d", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start slapd");
    let process = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", plain)).is_err()
        || std::net::TcpStream::connect(("127.0.0.1", tls)).is_err()
    {
        assert!(Instant::now() < deadline, "slapd did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ca_pem = std::fs::read_to_string(dir.join("ca.pem")).unwrap();
    Some(Slapd { ldap_url, ldaps_url, ca_pem, _process: process })
}

/// A test authority (`ca.pem`) and a certificate it signed for 127.0.0.1 and localhost.
fn make_certificates(openssl: &Path, dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new(openssl).current_dir(dir).args(args).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=vigil test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")
        .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
}

fn seed(people: &[Person<'_>]) -> String {
    let mut ldif = format!(
        "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n\
         dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n\n\
         dn: ou=services,{BASE}\nobjectClass: organizationalUnit\nou: services\n\n\
         dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: vigil\n\
         userPassword: {SERVICE_PASSWORD}\n\n"
    );
    let mut groups: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (uid, name, password, in_groups) in people {
        ldif += &format!(
            "dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {name}\nsn: {uid}\n\
             mail: {uid}@example.org\nuserPassword: {password}\n\n"
        );
        for g in *in_groups {
            groups.entry(g).or_default().push(format!("uid={uid},ou=people,{BASE}"));
        }
    }
    for (group, members) in groups {
        ldif += &format!("dn: cn={group},ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: {group}\n");
        for m in members {
            ldif += &format!("member: {m}\n");
        }
        ldif += "\n";
    }
    ldif
}
