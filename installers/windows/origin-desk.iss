; Inno Setup 6 script: the Windows installer of Origin Desk.
;
; Not built on this project's machines (they run Debian; Inno Setup's compiler, ISCC.exe, is
; a Windows program). Build it on Windows 10/11 with Python 3.11 and Inno Setup 6:
;   py -3.11 -m venv .venv && .venv\Scripts\pip install -e .[dist]
;   .venv\Scripts\pyinstaller --noconfirm --distpath dist installers\pyinstaller\origin-desk.spec
;   "%ProgramFiles(x86)%\Inno Setup 6\ISCC.exe" installers\windows\origin-desk.iss
; The result is dist\OriginDeskSetup-<version>.exe. Silent install for IT departments:
;   OriginDeskSetup-0.1.0.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /ALLUSERS
; then check it with "C:\Program Files\Origin Desk\origin-desk.exe" --self-test

#define AppName "Origin Desk"
#define AppVersion "0.1.0"
#define AppExe "origin-desk.exe"

[Setup]
AppId={{6C2E1D0B-6F5B-4C8E-9B1E-0D0E5A7C2F41}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Origin Desk developers
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=OriginDeskSetup-{#AppVersion}
SetupIconFile=..\..\resources\icons\origin-desk.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes

[Files]
; the PyInstaller one-folder bundle (dist\origin-desk\ made by the spec above)
Source: "..\..\dist\origin-desk\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Registry]
; "Open with > Origin Desk" for received certificate PDFs: they go straight to the verify view
; (the same as the Linux desktop entry's MimeType=application/pdf). The user's default PDF
; reader is left as it is.
Root: HKA; Subkey: "Software\Classes\OriginDesk.Certificate"; ValueType: string; ValueName: ""; ValueData: "Certificate of Origin (PDF)"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\OriginDesk.Certificate\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\OriginDesk.Certificate\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" --open ""%1"""
Root: HKA; Subkey: "Software\Classes\.pdf\OpenWithProgids"; ValueType: string; ValueName: "OriginDesk.Certificate"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".pdf"; ValueData: ""; Flags: uninsdeletekey

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
